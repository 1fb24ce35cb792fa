using System.Collections.Concurrent;
using Microsoft.ML.Tokenizers;

namespace Parley.Engine.Bots;

/// <summary>Counts the tokens of a text, as a model's tokenizer would.</summary>
public interface ITokenCounter
{
    /// <summary>The number of tokens in <paramref name="text"/> (0 for an empty text).</summary>
    int Count(string text);
}

/// <summary>
/// Counts with OpenAI's <c>o200k_base</c> encoding (GPT-4o and later) through Microsoft.ML.Tokenizers, offline (the
/// vocabulary ships in the Microsoft.ML.Tokenizers.Data.O200kBase package). Other model families tokenize differently;
/// the count is then an estimate, used for the context window and when a provider reports no usage.
/// </summary>
/// <remarks>
/// A turn counts the same texts more than once (a reply for its usage and for its stored token count; the echo bot's
/// reply is the user's message), and the tokenizer's own cache takes a lock on every word. So whole texts of up to
/// <see cref="MaxCachedLength"/> characters are counted once and kept in a <see cref="ConcurrentDictionary{TKey,TValue}"/>,
/// whose hits take no lock; it is emptied when it holds <see cref="MaxCachedTexts"/> texts.
/// </remarks>
public sealed class TiktokenCounter : ITokenCounter
{
    /// <summary>Texts longer than this (characters) are counted every time.</summary>
    public const int MaxCachedLength = 4_096;

    /// <summary>The most texts kept (at most ~8 MB of text, usually shared with the messages that hold it).</summary>
    public const int MaxCachedTexts = 1_024;

    private readonly Tokenizer _tokenizer = TiktokenTokenizer.CreateForEncoding("o200k_base");
    private readonly ConcurrentDictionary<string, int> _counted = new(StringComparer.Ordinal);
    private int _added;

    /// <summary>The shared instance (the tokenizer is thread-safe and costs ~10 MB, so one per process).</summary>
    public static TiktokenCounter Shared { get; } = new();

    /// <inheritdoc />
    public int Count(string text)
    {
        if (text.Length == 0)
        {
            return 0;
        }

        if (text.Length > MaxCachedLength)
        {
            return _tokenizer.CountTokens(text);
        }

        if (_counted.TryGetValue(text, out var count))
        {
            return count;
        }

        count = _tokenizer.CountTokens(text);
        if (Interlocked.Increment(ref _added) > MaxCachedTexts)
        {
            _counted.Clear(); // rare: the next texts fill it again
            Interlocked.Exchange(ref _added, 1);
        }

        _counted.TryAdd(text, count);
        return count;
    }
}
