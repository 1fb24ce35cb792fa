using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>A bot that streams <see cref="Partial"/> and then fails, like a model provider dropping the connection.</summary>
public sealed class FailingChatClient : IChatClient
{
    /// <summary>The one chunk streamed before the failure.</summary>
    public const string Partial = "I was about to say";

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new HttpRequestException("The model provider closed the connection.");

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return new ChatResponseUpdate(ChatRole.Assistant, Partial);
        await Task.Yield();
        throw new HttpRequestException("The model provider closed the connection.");
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}

/// <summary>
/// A data source whose every connection fails to open: the engine's store (which writes through the host's
/// <see cref="DbDataSource"/>) sees the database as down, while EF Core (configured with its own connection) still works.
/// </summary>
public sealed class UnreachableDataSource : DbDataSource
{
    /// <inheritdoc />
    public override string ConnectionString => "Host=unreachable";

    /// <inheritdoc />
    protected override DbConnection CreateDbConnection() => throw new InvalidOperationException("The database is unreachable (test fault).");
}

/// <summary>
/// A bot that streams its <paramref name="chunks"/> one at a time, each only after the test released it with
/// <see cref="Release"/> (or opened the gate with <see cref="ReleaseAll"/>): tests synchronise on it instead of sleeping.
/// It answers every turn with the same reply; a waiting chunk gives up when the turn's token is cancelled.
/// </summary>
/// <param name="chunks">The reply, chunk by chunk.</param>
public sealed class GatedChatClient(params string[] chunks) : IChatClient
{
    private readonly SemaphoreSlim _gate = new(0);
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _started = new();
    private volatile bool _open;
    private int _replies;

    /// <summary>The whole reply.</summary>
    public string Reply => string.Concat(chunks);

    /// <summary>Completes when the bot has been asked for its <paramref name="number"/>th reply (1 = the first).</summary>
    public Task ReplyStarted(int number) => Started(number).Task;

    /// <summary>Lets <paramref name="count"/> more chunks through (over all turns).</summary>
    public void Release(int count) => _gate.Release(count);

    /// <summary>Opens the gate for good: every waiting and every later chunk goes through.</summary>
    public void ReleaseAll()
    {
        if (_open)
        {
            return;
        }

        _open = true;
        _gate.Release(int.MaxValue / 2);
    }

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The gated bot only streams.");

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Started(Interlocked.Increment(ref _replies)).TrySetResult();
        foreach (var chunk in chunks)
        {
            if (!_open)
            {
                await _gate.WaitAsync(cancellationToken);
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, chunk);
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();

    private TaskCompletionSource Started(int number) =>
        _started.GetOrAdd(number, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>
/// A bot that records every request's messages (role and text) and replies "reply N" (N counts its requests from 1), so a
/// test sees exactly which context each turn sent.
/// </summary>
public sealed class RecordingChatClient : IChatClient
{
    private readonly List<IReadOnlyList<(string Role, string Text)>> _requests = [];
    private readonly List<IReadOnlyList<string>> _system = [];

    /// <summary>The system messages of every request so far (system prompt, document excerpts), in the order they arrived.</summary>
    public IReadOnlyList<IReadOnlyList<string>> SystemMessages
    {
        get
        {
            lock (_requests)
            {
                return [.. _system];
            }
        }
    }

    /// <summary>Every request so far, in the order they arrived.</summary>
    public IReadOnlyList<IReadOnlyList<(string Role, string Text)>> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, Record(messages))));

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reply = Record(messages);
        await Task.Yield();
        yield return new ChatResponseUpdate(ChatRole.Assistant, reply);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private string Record(IEnumerable<ChatMessage> messages)
    {
        lock (_requests)
        {
            _requests.Add([.. messages.Where(m => m.Role != ChatRole.System).Select(m => (m.Role.Value, m.Text))]);
            _system.Add([.. messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text)]);
            return $"reply {_requests.Count}";
        }
    }
}
