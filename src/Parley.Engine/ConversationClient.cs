using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Parley.Engine;

/// <summary>
/// The engine's front door on every node: validates a turn and runs it in the conversation grain's queue (one grain call) (on whichever node the grain is activated), and turns the grain's answer into a stream of
/// <see cref="TurnEvent"/>s.
/// </summary>
/// <remarks>
/// Invariants (each pinned by a test in Parley.Engine.Tests or Parley.Server.Tests):
/// <list type="number">
/// <item>Strict order: turns of one conversation run one at a time in arrival order (a non-reentrant grain); sequences are contiguous and roles alternate user, assistant.</item>
/// <item>Durable before acknowledged: <see cref="UserMessageStored"/> and <see cref="AssistantCompleted"/> are emitted only after their commit returned.</item>
/// <item>Bounded memory: idle grains are collected after <see cref="EngineOptions.IdleTimeout"/> and shed under memory pressure.</item>
/// <item>Idempotent sends: a repeated client message id yields the stored turn, never a second charge.</item>
/// <item>Atomic balance: the charge is a conditional update in the accept commit; failed turns are refunded in the complete commit.</item>
/// <item>The database is the arbiter: two activations of one conversation (possible briefly while membership changes) cannot both commit at one version.</item>
/// </list>
/// </remarks>
/// <param name="grains">Orleans' grain factory.</param>
/// <param name="options">Settings.</param>
/// <param name="metrics">The engine's counters.</param>
/// <param name="logger">Logger.</param>
/// <param name="nodes">Which nodes are alive (a follower whose grain's node died settles the turn it left); null: never known dead.</param>
public sealed partial class ConversationClient(
    IGrainFactory grains, EngineOptions options, EngineMetrics metrics, ILogger<ConversationClient> logger, INodeDirectory? nodes = null)
{
    // Orleans holds an observer object only weakly, and nothing else roots a follower waiting for its next event.
    private readonly ConcurrentDictionary<TurnObserver, byte> _followers = new();

    /// <summary>Tokens charged per accepted message.</summary>
    public long CostPerMessage => options.CostPerMessage;

    /// <summary>
    /// Queues a turn on its conversation and returns the channel its <see cref="TurnEvent"/>s arrive on (the streaming
    /// path: the user message is stored before the bot runs).
    /// </summary>
    /// <param name="request">The turn.</param>
    /// <param name="aborted">Signals that the client went away: the channel gets nothing more. With
    /// <see cref="EngineOptions.ContinueOnDisconnect"/> (the default) the turn goes on to completion (follow it again with
    /// <see cref="FollowAsync"/>); without it, a turn not started yet is dropped (nothing charged) and a running bot is
    /// stopped, its partial reply stored as <see cref="MessageStatuses.Cancelled"/>.</param>
    /// <returns>A reader that yields the turn's events and then completes. Bad content, a full queue and an unreachable grain yield a single <see cref="TurnFailed"/>.</returns>
    public ChannelReader<TurnEvent> Send(TurnRequest request, CancellationToken aborted = default)
    {
        var events = Channel.CreateUnbounded<TurnEvent>(new UnboundedChannelOptions { SingleReader = true });
        _ = RunAsync(request, streaming: true, events.Writer, aborted);
        return events.Reader;
    }

    /// <summary>
    /// Runs a turn to its end and gathers its events (the non-streaming path). Here the reply is generated before
    /// anything is stored and the turn is committed once: user message, reply and charge together.
    /// </summary>
    /// <param name="request">The turn.</param>
    /// <param name="aborted">See <see cref="Send"/>.</param>
    /// <returns>The stored messages and balance, or the failure.</returns>
    public async Task<TurnResult> SendAndWaitAsync(TurnRequest request, CancellationToken aborted = default)
    {
        var events = Channel.CreateUnbounded<TurnEvent>(new UnboundedChannelOptions { SingleReader = true });
        await RunAsync(request, streaming: false, events.Writer, aborted);
        StoredMessage? user = null, assistant = null;
        long? balance = null;
        TurnFailed? failure = null;
        while (events.Reader.TryRead(out var turnEvent))
        {
            switch (turnEvent)
            {
                case UserMessageStored stored:
                    (user, balance) = (stored.Message, stored.TokenBalance);
                    break;
                case AssistantCompleted completed:
                    (assistant, balance) = (completed.Message, completed.TokenBalance);
                    user = user is null ? null : user with { Status = completed.Message.Status }; // settled with the reply
                    break;
                case TurnFailed failed:
                    failure = failed;
                    balance = failed.TokenBalance ?? balance;
                    break;
            }
        }

        return new TurnResult(user, assistant, balance, failure);
    }

    /// <summary>Stops the turn running in a conversation, from any node (the stop interleaves with the running turn).</summary>
    /// <returns>True when a turn was running.</returns>
    public Task<bool> StopAsync(Guid conversationId) => grains.GetGrain<IConversationGrain>(conversationId).StopAsync(null);

    /// <summary>
    /// Follows the turn running in a conversation, from any node: the events after <paramref name="lastEventId"/> (all of
    /// them without one) and then the live ones, to the final <see cref="AssistantCompleted"/> or <see cref="TurnFailed"/>.
    /// Every event carries its <see cref="TurnEvent.EventId"/>. The caller checks that the conversation is the user's.
    /// </summary>
    /// <remarks>
    /// A follow never hangs (<see cref="TurnFollower"/>): a quiet turn is checked on every 5 s; when its grain's node died
    /// mid-turn, the follow ends with the final event of the turn that node left (stored failed with its checkpointed text
    /// and refunded, <see cref="EngineOptions.CheckpointInterval"/>).
    /// </remarks>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="lastEventId">The last event id the client received (SSE <c>Last-Event-ID</c>), or null.</param>
    /// <param name="aborted">The follower went away: the channel completes and the grain stops sending to it (the turn goes on).</param>
    /// <returns>A reader of the events, completed after the final one; null when no turn with a stored user message is running.</returns>
    public async Task<ChannelReader<TurnEvent>?> FollowAsync(Guid conversationId, string? lastEventId, CancellationToken aborted = default)
    {
        var live = Channel.CreateUnbounded<TurnEvent>(new UnboundedChannelOptions { SingleReader = true });
        var observer = new TurnObserver(live.Writer, aborted);
        _followers.TryAdd(observer, 0);
        var reference = grains.CreateObjectReference<ITurnObserver>(observer);
        var grain = grains.GetGrain<IConversationGrain>(conversationId);
        TurnReply? replay;
        try
        {
            replay = await grain.FollowAsync(lastEventId, reference);
        }
        catch
        {
            Detach();
            throw;
        }

        if (replay is null)
        {
            Detach();
            return null;
        }

        var events = Channel.CreateUnbounded<TurnEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var follower = new TurnFollower(grain, conversationId, reference, replay, lastEventId, nodes, logger);
        _ = PumpAsync();
        return events.Reader;

        async Task PumpAsync()
        {
            try
            {
                await follower.RunAsync(live.Reader, events.Writer, aborted);
            }
            catch (OperationCanceledException)
            {
                // the follower left
            }
            finally
            {
                Detach();
                events.Writer.TryComplete();
            }
        }

        void Detach()
        {
            grains.DeleteObjectReference<ITurnObserver>(reference);
            _followers.TryRemove(observer, out _);
        }
    }

    /// <summary>Drops a conversation's in-RAM context so its next turn reloads it (call after deleting or editing it outside the engine).</summary>
    public Task InvalidateAsync(Guid conversationId) => grains.GetGrain<IConversationGrain>(conversationId).InvalidateAsync();

    /// <summary>Counters since start, and this node's resident conversations now.</summary>
    public EngineStatistics GetStatistics() => metrics.Snapshot();

    private async Task RunAsync(TurnRequest request, bool streaming, ChannelWriter<TurnEvent> events, CancellationToken aborted)
    {
        TurnObserver? observer = null; // held here: Orleans keeps only a weak reference to an observer object
        ITurnObserver? reference = null;
        var started = Stopwatch.GetTimestamp();
        TurnError? failure = null;
        try
        {
            if (Validate(request) is { } invalid)
            {
                metrics.Rejected();
                failure = invalid.Error;
                events.TryWrite(invalid);
                return;
            }

            var grain = grains.GetGrain<IConversationGrain>(request.ConversationId);
            var turnId = Guid.NewGuid();
            if (streaming)
            {
                observer = new TurnObserver(events, aborted);
                reference = grains.CreateObjectReference<ITurnObserver>(observer);
            }

            // One grain call: the grain checks the queue's capacity and queues the turn in the same call.
            var running = grain.RunTurnAsync(new TurnCall(turnId, request, streaming), reference);
            using var stopOnAbort = options.ContinueOnDisconnect ? default : aborted.Register(static state =>
            {
                var (grain, turnId) = ((IConversationGrain, Guid))state!;
                _ = grain.StopAsync(turnId).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            }, (grain, turnId));
            var reply = await running;
            if (reply.Events is [TurnFailed { Error: TurnError.QueueFull }])
            {
                metrics.Rejected();
            }

            foreach (var turnEvent in reply.Events)
            {
                events.TryWrite(turnEvent);
            }

            failure = reply.Events is [.., TurnFailed failed] ? failed.Error : null;
        }
        catch (Exception ex)
        {
            // The grain's node went away or this node is shutting down. Nothing was acknowledged; the client retries
            // (with the same clientMessageId, it gets the stored turn if the turn made it).
            LogUnavailable(logger, ex, request.ConversationId);
            failure = TurnError.Unavailable;
            events.TryWrite(new TurnFailed(TurnError.Unavailable, "The conversation's node is unavailable; retry shortly."));
        }
        finally
        {
            if (reference is not null)
            {
                grains.DeleteObjectReference<ITurnObserver>(reference);
            }

            GC.KeepAlive(observer);
            metrics.TurnEnded(Stopwatch.GetElapsedTime(started), streaming, failure);
            events.TryComplete();
        }
    }

    private TurnFailed? Validate(TurnRequest request)
    {
        if (request.RegenerateOf is not null)
        {
            // A regenerate has no content of its own.
        }
        else if (string.IsNullOrWhiteSpace(request.Content))
        {
            return TurnFailed.Invalid(TurnFailed.ContentField, "The message content must not be empty.");
        }

        else if (request.Content.Length > options.MaxContentLength)
        {
            return TurnFailed.Invalid(TurnFailed.ContentField, $"The message content is {request.Content.Length} characters; at most {options.MaxContentLength} are allowed.");
        }

        return request.ClientMessageId is { Length: 0 or > 100 }
            ? TurnFailed.Invalid(TurnFailed.ClientMessageIdField, "A clientMessageId must be 1 to 100 characters.")
            : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A turn of conversation {ConversationId} could not reach its grain")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, Guid conversationId);

    /// <summary>Writes the streamed events into the request's channel; reports "not listening" once the client left.</summary>
    private sealed class TurnObserver(ChannelWriter<TurnEvent> events, CancellationToken aborted) : ITurnObserver
    {
        public Task<bool> OnEventAsync(TurnEvent turnEvent) =>
            Task.FromResult(events.TryWrite(turnEvent) && !aborted.IsCancellationRequested);
    }
}

/// <summary>The outcome of <see cref="ConversationClient.SendAndWaitAsync"/>.</summary>
/// <param name="UserMessage">The stored user message; null when the send was rejected before storing.</param>
/// <param name="AssistantMessage">The stored reply; null on failure.</param>
/// <param name="TokenBalance">The user's balance after the turn, when known.</param>
/// <param name="Failure">Why the turn did not complete; null on success.</param>
public sealed record TurnResult(StoredMessage? UserMessage, StoredMessage? AssistantMessage, long? TokenBalance, TurnFailed? Failure);
