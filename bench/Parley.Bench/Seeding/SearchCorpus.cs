using System.Text;

namespace Parley.Bench.Seeding;

/// <summary>
/// The deterministic text of the <c>search</c> scenario: a vocabulary of <see cref="VocabularySize"/> words ranked by
/// frequency (common English words first, some with accents, then made-up words from syllables) drawn with a Zipf
/// distribution (exponent 1), so the commonest word is in most messages and the tail words in a handful. Titles draw a
/// topic (some accented: <c>Zürich</c>, <c>café</c>…) and a few words. Same seed, same corpus.
/// </summary>
internal sealed class SearchCorpus
{
    /// <summary>Words in the vocabulary.</summary>
    public const int VocabularySize = 20_000;

    /// <summary>The topic of every title: a title query for <c>zurich</c> (no accent) must find <c>Zürich</c>.</summary>
    public static readonly string[] Topics =
    [
        "Zürich", "café", "résumé", "budget", "garden", "python", "kubernetes", "holiday", "recipe", "invoice",
        "Málaga", "naïve", "crème", "physics", "marathon", "wedding", "taxes", "piano", "señor", "startup",
    ];

    private static readonly string[] Head =
    [
        "the", "to", "and", "a", "of", "is", "in", "you", "that", "it", "for", "this", "can", "with", "be", "on", "i",
        "your", "are", "as", "if", "not", "or", "have", "will", "what", "we", "an", "but", "at", "use", "from", "so",
        "do", "my", "all", "more", "one", "about", "how", "time", "like", "make", "here", "some", "when", "there", "which",
        "would", "data", "code", "file", "example", "should", "need", "project", "function", "way", "work", "new", "first",
        "also", "value", "any", "each", "then", "help", "want", "could", "other", "question", "answer", "error", "list",
        "model", "server", "user", "change", "number", "problem", "test", "result", "string", "version", "write", "because",
        "better", "idea", "plan", "week", "money", "travel", "book", "music", "morning", "meeting", "email", "report",
        "design", "system", "query", "table", "index", "memory", "performance", "deadline", "review", "team", "customer",
        "price", "order", "city", "weather", "train", "coffee", "dinner", "recipe", "garden", "health", "doctor",
        "exercise", "running", "sleep", "school", "homework", "history", "language", "translation", "summary", "letter",
        "café", "résumé", "naïve", "façade", "déjà", "crème", "über", "señor", "jalapeño", "Zürich", "Málaga", "piñata",
    ];

    private static readonly string[] Syllables =
    [
        "ba", "ce", "di", "fo", "gu", "ka", "le", "mi", "no", "pu", "ra", "se", "ti", "vo", "za", "lor", "ven", "tis",
        "mar", "quel", "dra", "nex", "pol", "tri", "sta", "bre", "cli", "gno", "phu", "shi",
    ];

    private readonly string[] _words;
    private readonly double[] _cumulative;

    /// <summary>Builds the vocabulary and the Zipf table.</summary>
    public SearchCorpus()
    {
        _words = new string[VocabularySize];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var at = 0;
        foreach (var word in Head)
        {
            if (seen.Add(word))
            {
                _words[at++] = word;
            }
        }

        var random = new Random(12);
        while (at < VocabularySize)
        {
            var builder = new StringBuilder();
            for (var s = random.Next(2, 5); s > 0; s--)
            {
                builder.Append(Syllables[random.Next(Syllables.Length)]);
            }

            var word = builder.ToString();
            if (seen.Add(word))
            {
                _words[at++] = word;
            }
        }

        _cumulative = new double[VocabularySize];
        var total = 0.0;
        for (var rank = 0; rank < VocabularySize; rank++)
        {
            total += 1.0 / (rank + 1);
            _cumulative[rank] = total;
        }

        for (var rank = 0; rank < VocabularySize; rank++)
        {
            _cumulative[rank] /= total;
        }
    }

    /// <summary>The word of frequency rank <paramref name="rank"/> (0 = commonest).</summary>
    public string Word(int rank) => _words[rank];

    /// <summary>A rank drawn from the Zipf distribution.</summary>
    public int NextRank(Random random)
    {
        var index = Array.BinarySearch(_cumulative, random.NextDouble());
        return Math.Min(index < 0 ? ~index : index, VocabularySize - 1);
    }

    /// <summary>
    /// A message of <paramref name="words"/> Zipf-drawn words with some punctuation; <paramref name="rarest"/> gets the
    /// highest rank drawn (the caller keeps it as a searching user's rare word).
    /// </summary>
    public string Message(Random random, int words, out int rarest)
    {
        var builder = new StringBuilder(words * 7);
        rarest = 0;
        for (var i = 0; i < words; i++)
        {
            var rank = NextRank(random);
            rarest = Math.Max(rarest, rank);
            var word = _words[rank];
            if (i == 0)
            {
                builder.Append(char.ToUpperInvariant(word[0])).Append(word, 1, word.Length - 1);
            }
            else
            {
                builder.Append(' ').Append(word);
            }

            if (i % 9 == 8)
            {
                builder.Append(i % 2 == 0 ? ',' : '.');
            }
        }

        return builder.Append('.').ToString();
    }

    /// <summary>A title: a topic and two to four words from rank 40 on (no "the").</summary>
    public string Title(Random random)
    {
        var builder = new StringBuilder(Topics[random.Next(Topics.Length)]);
        for (var i = random.Next(2, 5); i > 0; i--)
        {
            builder.Append(' ').Append(_words[Math.Min(40 + NextRank(random), VocabularySize - 1)]);
        }

        return builder.ToString();
    }
}
