using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Parley.Engine;

/// <summary>
/// The default bot (<c>Bot:Provider = echo</c>): replies with exactly the text of the last user message, streamed in up
/// to <see cref="Chunks"/> chunks so the streaming path is exercised, waiting <see cref="ChunkDelay"/> between chunks.
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
    public const int Chunks = 4;

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
        var text = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var size = Math.Max(1, (text.Length + Chunks - 1) / Chunks);
        var start = 0;
        while (start < text.Length)
        {
            if (start > 0 && ChunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(ChunkDelay, TimeProvider, cancellationToken);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var end = Math.Min(text.Length, start + size);
            if (end < text.Length && char.IsHighSurrogate(text[end - 1]))
            {
                end++; // never split a surrogate pair
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, text[start..end]);
            start = end;
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
