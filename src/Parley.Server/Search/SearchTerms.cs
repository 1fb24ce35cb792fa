using System.Globalization;
using System.Text;

namespace Parley.Server.Search;

/// <summary>
/// The words of a search query and their full-text forms. A word is a run of letters and digits (the same split the
/// SQLite <c>unicode61</c> tokenizer and the PostgreSQL default parser make); everything else separates words and is
/// never passed to the engine's query syntax, so a query cannot be malformed. Every word must match (AND); the last one
/// matches as a prefix (the user may still be typing it) once it has <see cref="MinPrefixLetters"/> letters.
/// </summary>
public sealed class SearchTerms
{
    /// <summary>At most this many words are used; later ones are ignored.</summary>
    public const int MaxWords = 10;

    /// <summary>The longest query accepted, in characters.</summary>
    public const int MaxQueryLength = 500;

    /// <summary>
    /// Letters (or digits; combining marks not counted) the last word needs to match as a prefix; a shorter one matches
    /// as a whole word. SQLite's message index keeps a prefix index for 3 characters (migration <c>SearchPrefixThree</c>):
    /// a 1- or 2-letter prefix would merge thousands of words over every user's rows (294 ms for "th" in 1,000,000
    /// messages). PostgreSQL follows the same rule, so both providers answer alike.
    /// </summary>
    public const int MinPrefixLetters = 3;

    private SearchTerms(IReadOnlyList<string> words) => Words = words;

    /// <summary>The words, in query order (at least one).</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>Splits <paramref name="query"/> into words; false when it holds none.</summary>
    public static bool TryParse(string? query, out SearchTerms terms)
    {
        terms = new SearchTerms([]);
        if (string.IsNullOrWhiteSpace(query))
        {
            return false;
        }

        var words = new List<string>();
        var word = new StringBuilder();
        foreach (var rune in query.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (Rune.IsLetterOrDigit(rune) || category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark)
            {
                word.Append(rune.ToString());
                continue;
            }

            Flush(words, word);
        }

        Flush(words, word);
        if (words.Count == 0)
        {
            return false;
        }

        terms = new SearchTerms(words.Count > MaxWords ? words[..MaxWords] : words);
        return true;
    }

    /// <summary>The SQLite FTS5 MATCH expression: each word a quoted string, the last with <c>*</c> (prefix) when <see cref="IsPrefix"/>.</summary>
    public string ToFts5() => string.Join(' ', Words.Select((w, i) => IsPrefix(i) ? $"\"{w}\"*" : $"\"{w}\""));

    /// <summary>The PostgreSQL <c>to_tsquery</c> text: words joined by <c>&amp;</c>, the last with <c>:*</c> (prefix) when <see cref="IsPrefix"/>.</summary>
    public string ToTsQuery() => string.Join(" & ", Words.Select((w, i) => IsPrefix(i) ? $"{w}:*" : w));

    /// <summary>True for the last word when it has at least <see cref="MinPrefixLetters"/> letters.</summary>
    /// <param name="index">A word's position in <see cref="Words"/>.</param>
    public bool IsPrefix(int index) => index == Words.Count - 1 && Letters(Words[index]) >= MinPrefixLetters;

    private static int Letters(string word)
    {
        var letters = 0;
        foreach (var rune in word.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                letters++;
            }
        }

        return letters;
    }

    private static void Flush(List<string> words, StringBuilder word)
    {
        if (word.Length > 0)
        {
            words.Add(word.ToString());
            word.Clear();
        }
    }
}
