using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Parley.Engine;

/// <summary>
/// The default bot (<c>Bot:Provider = echo</c>): replies with exactly the text of the last user message, streamed word
/// by word (at most <see cref="MaxChunks"/> chunks, several words each for long texts) so the streaming path is exercised,
/// waiting <see cref="ChunkDelay"/> between chunks.
/// </summary>
public sealed class EchoChatClient : IChatClient
{
    /// <summary>Creates an echo bot.</summary>
    /// <param name="chunkDelay">Pause before each chunk after the first (<c>Bot:Echo:ChunkDelayMs</c>); zero for none.</param>
    /// <param name="timeProvider">The clock the delays use.</param>
    public EchoChatClient(TimeSpan chunkDelay = default, TimeProvider? timeProvider = null)
    {
        ChunkDelay = chunkDelay;
        TimeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Most chunks a reply is split into.</summary>
    public const int MaxChunks = 16;

    /// <summary>The pause between chunks.</summary>
    public TimeSpan ChunkDelay { get; }

    private TimeProvider TimeProvider { get; }

    /// <summary>Returns the whole echo at once.</summary>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            text.Append(update.Text);
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text.ToString()));
    }

    /// <summary>Streams the echo in chunks.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled between chunks.</exception>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var text = LastUserText(messages);
        var words = CountWords(text);
        var wordsPerChunk = Math.Max(1, (words + MaxChunks - 1) / MaxChunks);
        var start = 0;
        while (start < text.Length)
        {
            if (start > 0 && ChunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(ChunkDelay, TimeProvider, cancellationToken);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var end = EndOfWords(text, start, wordsPerChunk);
            yield return new ChatResponseUpdate(ChatRole.Assistant, text[start..end]);
            start = end;
        }
    }

    private static string LastUserText(IEnumerable<ChatMessage> messages)
    {
        if (messages is IReadOnlyList<ChatMessage> list)
        {
            // From the end: the last message is normally the user's, so nothing else is read.
            for (var i = list.Count - 1; i >= 0; i--)
            {
                if (list[i].Role == ChatRole.User)
                {
                    return list[i].Text;
                }
            }

            return "";
        }

        return messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
    }

    private static int CountWords(string text)
    {
        var count = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (!char.IsWhiteSpace(text[i]) && (i == 0 || char.IsWhiteSpace(text[i - 1])))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>The end of <paramref name="words"/> words from <paramref name="start"/>, each with the whitespace after it (so chunks never split a surrogate pair).</summary>
    private static int EndOfWords(string text, int start, int words)
    {
        var i = start;
        for (var word = 0; word < words && i < text.Length; word++)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            while (i < text.Length && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }
        }

        return i;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
