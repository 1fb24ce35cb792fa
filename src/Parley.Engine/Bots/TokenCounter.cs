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
public sealed class TiktokenCounter : ITokenCounter
{
    private readonly Tokenizer _tokenizer = TiktokenTokenizer.CreateForEncoding("o200k_base");

    /// <summary>The shared instance (the tokenizer is thread-safe and costs ~10 MB, so one per process).</summary>
    public static TiktokenCounter Shared { get; } = new();

    /// <inheritdoc />
    public int Count(string text) => text.Length == 0 ? 0 : _tokenizer.CountTokens(text);
}
