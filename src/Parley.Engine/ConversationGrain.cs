using System.Diagnostics;
using Orleans.Concurrency;

namespace Parley.Engine;

/// <summary>
/// One conversation, wherever it is activated in the cluster. Turns and settles run one at a time in arrival order, each
/// seeing the context the earlier ones left: a turn call interleaves only to join the grain's own queue (bounded by
/// <see cref="EngineOptions.MailboxCapacity"/>, checked in the same call, so a turn costs one grain call) and waits there
/// for its turn. The other calls marked <see cref="AlwaysInterleaveAttribute"/> run at once, even while a turn is running:
/// stopping a turn, invalidating the context, following, reading the status.
/// </summary>
public interface IConversationGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Runs a turn in the conversation's queue: the call joins the queue at once (it interleaves), unless
    /// <see cref="EngineOptions.MailboxCapacity"/> turns already wait, and runs when the turns before it (and any settle
    /// queued before it) are done, in arrival order. Events before the end (user message stored, deltas) go to
    /// <paramref name="observer"/> as they happen; the rest are returned.
    /// </summary>
    /// <param name="call">The turn.</param>
    /// <param name="observer">Receives the streamed events; null for a waited turn (every event is returned).</param>
    /// <returns>The events not streamed; a single <see cref="TurnFailed"/> with <see cref="TurnError.QueueFull"/> when the
    /// queue was full (nothing ran, the caller answers 429).</returns>
    [AlwaysInterleave]
    Task<TurnReply> RunTurnAsync(TurnCall call, ITurnObserver? observer);

    /// <summary>Settles the pending turn the message names, if it is still pending (queued like a turn).</summary>
    /// <returns>The settled turn's final event (<see cref="AssistantCompleted"/>, or <see cref="TurnFailed"/> with the
    /// refunded balance); null when no turn of that node was pending.</returns>
    Task<TurnEvent?> SettleAsync(SettlePendingTurn message);

    /// <summary>Stops a turn: the running one, or a queued one when it starts. With no id, whichever turn is running.</summary>
    /// <returns>True when a running or queued turn was found.</returns>
    [AlwaysInterleave]
    Task<bool> StopAsync(Guid? turnId);

    /// <summary>Drops the cached context (the conversation was deleted or edited outside the engine).</summary>
    [AlwaysInterleave]
    Task InvalidateAsync();

    /// <summary>
    /// Follows the running turn: returns the events after <paramref name="lastEventId"/> kept in its
    /// <see cref="TurnBuffer"/> and sends every later one, to the final event, to <paramref name="observer"/>. Runs at
    /// once, even while the turn runs; any number of observers may follow one turn.
    /// </summary>
    /// <param name="lastEventId">The last event id the follower received; null to replay from the start of the turn.</param>
    /// <param name="observer">Receives the live events (it reports false to stop receiving them).</param>
    /// <returns>The events to replay; null when no turn with a stored user message is running (nothing is registered).</returns>
    [AlwaysInterleave]
    Task<TurnReply?> FollowAsync(string? lastEventId, ITurnObserver observer);

    /// <summary>What the conversation is doing now; answers even while a turn runs.</summary>
    [AlwaysInterleave, ReadOnly]
    Task<ConversationStatus> GetStatusAsync();
}

/// <summary>Receives a streamed turn's events on the node that serves the HTTP request.</summary>
public interface ITurnObserver : IGrainObserver
{
    /// <summary>One event of the running turn.</summary>
    /// <returns>False when nobody listens any more (the client left): the grain sends it nothing more, and stops the turn
    /// if this is the observer of the turn's own request and <see cref="EngineOptions.ContinueOnDisconnect"/> is false.</returns>
    Task<bool> OnEventAsync(TurnEvent turnEvent);
}

/// <summary>A turn as sent to its conversation's grain.</summary>
/// <param name="TurnId">Identifies the turn for <see cref="IConversationGrain.StopAsync"/> and its queue place.</param>
/// <param name="Request">The turn (validated by the caller).</param>
/// <param name="Streaming">True: two commits, the user message announced before the bot runs. False: one commit after the reply.</param>
[GenerateSerializer, Immutable]
public sealed record TurnCall(Guid TurnId, TurnRequest Request, bool Streaming);

/// <summary>The events of a turn that were not streamed to the observer, in order.</summary>
/// <param name="Events">The events.</param>
/// <param name="NodeId">The node the grain that answered is activated on (<see cref="EngineOptions.NodeId"/>).</param>
[GenerateSerializer, Immutable]
public sealed record TurnReply(TurnEvent[] Events, string? NodeId = null);

/// <summary>A conversation grain's state as seen from outside.</summary>
/// <param name="RunningTurn">The turn running now, if any.</param>
/// <param name="Queued">Turns holding a place in the queue.</param>
/// <param name="ContextLoaded">Whether the context is cached in RAM.</param>
/// <param name="NodeId">The node the grain is activated on.</param>
[GenerateSerializer, Immutable]
public sealed record ConversationStatus(Guid? RunningTurn, int Queued, bool ContextLoaded, string NodeId);

/// <summary>
/// The <see cref="IConversationGrain"/> implementation: holds the conversation's context in RAM and runs the
/// <see cref="TurnProtocol"/> on it. Idle activations are collected after <see cref="EngineOptions.IdleTimeout"/>
/// (Orleans' collection age), and shed under memory pressure.
/// </summary>
/// <remarks>
/// Memory (issue 15): an activation lives as long as its conversation is resident, so between turns it holds only the
/// <see cref="ConversationState"/> and an idle <see cref="TurnLine"/>; what a turn needs (its stop source, its sink and
/// buffer, the line's wait queues) exists while the turn runs or waits, and is dropped when it ends.
/// </remarks>
/// <param name="protocol">The turn protocol.</param>
/// <param name="metrics">Counts activations (the resident conversations of this node).</param>
public sealed class ConversationGrain(TurnProtocol protocol, EngineMetrics metrics) : Grain, IConversationGrain
{
    private readonly TurnLine _line = new();
    private ConversationState _state = null!;
    private GrainTurnSink? _running;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _state = new ConversationState(this.GetPrimaryKey());
        metrics.Activated();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.Deactivated();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<TurnReply> RunTurnAsync(TurnCall call, ITurnObserver? observer)
    {
        if (_line.QueuedTurns >= protocol.Options.MailboxCapacity)
        {
            return new TurnReply([new TurnFailed(TurnError.QueueFull,
                $"Too many messages are waiting in this conversation (at most {protocol.Options.MailboxCapacity}); retry shortly.")]);
        }

        await _line.EnterAsync(call.TurnId);
        try
        {
            return await RunEnteredTurnAsync(call, observer);
        }
        finally
        {
            _line.Leave();
        }
    }

    private async Task<TurnReply> RunEnteredTurnAsync(TurnCall call, ITurnObserver? observer)
    {
        using var stop = new CancellationTokenSource();
        if (_line.TakeStopRequest(call.TurnId))
        {
            stop.Cancel();
        }

        var sink = new GrainTurnSink(call.TurnId, observer, stop, protocol.Options);
        _running = sink;
        using var activity = EngineTelemetry.Source.StartActivity("parley.turn");
        activity?.SetTag("parley.conversation.id", call.Request.ConversationId);
        activity?.SetTag("parley.turn.streaming", call.Streaming);
        try
        {
            await protocol.RunAsync(_state, call.Request, call.Streaming, sink, stop.Token);
        }
        finally
        {
            _running = null;
            await sink.EndAsync();
        }

        if (activity is not null && sink.Returned is [.., TurnFailed failed])
        {
            activity.SetStatus(ActivityStatusCode.Error, failed.Error.ToString());
        }

        return new TurnReply([.. sink.Returned]);
    }

    /// <inheritdoc />
    public async Task<TurnEvent?> SettleAsync(SettlePendingTurn message)
    {
        await _line.EnterAsync();
        try
        {
            var final = new FinalEventSink();
            return await protocol.SettleAsync(_state, message, final) ? final.Final : null;
        }
        finally
        {
            _line.Leave();
        }
    }

    /// <inheritdoc />
    public async Task<bool> StopAsync(Guid? turnId)
    {
        if (_running is { } running && (turnId is null || turnId == running.TurnId))
        {
            await running.Stop.CancelAsync();
            return true;
        }

        return turnId is { } id && _line.StopWhenStarted(id);
    }

    /// <inheritdoc />
    public Task<TurnReply?> FollowAsync(string? lastEventId, ITurnObserver observer)
    {
        if (_running is not { Buffer: { } buffer } running)
        {
            return Task.FromResult<TurnReply?>(null);
        }

        if (buffer.Final is null && !running.Followers.Contains(observer))
        {
            running.Followers.Add(observer); // a follower checking on a quiet turn calls again: it stays registered once
        }

        return Task.FromResult<TurnReply?>(new TurnReply([.. buffer.Replay(lastEventId)], protocol.Options.NodeId));
    }

    /// <inheritdoc />
    public Task InvalidateAsync()
    {
        _state.Invalidate();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<ConversationStatus> GetStatusAsync() =>
        Task.FromResult(new ConversationStatus(_running?.TurnId, _line.QueuedTurns, _state.IsLoaded, protocol.Options.NodeId));

    /// <summary>Keeps the final event of a settled turn.</summary>
    private sealed class FinalEventSink : TurnSink
    {
        public TurnEvent? Final { get; private set; }

        public override ValueTask EmitAsync(TurnEvent turnEvent)
        {
            Final = turnEvent is AssistantCompleted or TurnFailed ? turnEvent : Final;
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// Keeps the turn's events in its <see cref="TurnBuffer"/> (once the user message is stored) and hands them on: the user
    /// message and deltas to the observer of the turn's own request (the rest are returned to it), every event to the
    /// followers. A listener that stops listening is dropped; the turn stops with it only when the request's own observer
    /// left and <see cref="EngineOptions.ContinueOnDisconnect"/> is false.
    /// </summary>
    private sealed class GrainTurnSink(Guid turnId, ITurnObserver? observer, CancellationTokenSource stop, EngineOptions options) : TurnSink
    {
        private ITurnObserver? _observer = observer;

        /// <summary>The running turn.</summary>
        public Guid TurnId { get; } = turnId;

        /// <summary>Stops the running turn.</summary>
        public CancellationTokenSource Stop { get; } = stop;

        public List<TurnEvent> Returned { get; } = [];

        public TurnBuffer? Buffer { get; private set; }

        public List<ITurnObserver> Followers { get; } = [];

        public override async ValueTask EmitAsync(TurnEvent turnEvent)
        {
            switch (turnEvent)
            {
                case UserMessageStored { Replayed: false } stored when Buffer is null:
                    Buffer = new TurnBuffer(stored, options.StreamBufferBytes);
                    turnEvent = Buffer.User;
                    break;
                case AssistantDelta delta when Buffer is not null:
                    if (Buffer.Append(delta.Text) is not { } numbered)
                    {
                        return;
                    }

                    turnEvent = numbered;
                    break;
                case AssistantCompleted or TurnFailed when Buffer is { Final: null }:
                    turnEvent = Buffer.Complete(turnEvent);
                    break;
            }

            if (Buffer is not null && Followers.Count > 0)
            {
                await SendToFollowersAsync(turnEvent);
            }

            if (_observer is null || turnEvent is not (UserMessageStored or AssistantDelta))
            {
                if (turnEvent is not AssistantDelta)
                {
                    Returned.Add(turnEvent); // a waited turn has no use for the chunks, only the stored reply
                }

                return;
            }

            if (Stop.IsCancellationRequested)
            {
                return;
            }

            if (!await SendAsync(_observer, turnEvent))
            {
                _observer = null;
                if (!options.ContinueOnDisconnect)
                {
                    await Stop.CancelAsync();
                }
            }
        }

        /// <summary>The turn is over: a follower still attached (the turn ended without a final event) is told it failed.</summary>
        public async Task EndAsync()
        {
            if (Followers.Count > 0 && Buffer is { Final: null })
            {
                await SendToFollowersAsync(Buffer.Complete(new TurnFailed(TurnError.Unavailable, "The turn ended unexpectedly; reload the conversation.")));
            }

            Followers.Clear();
        }

        private async Task SendToFollowersAsync(TurnEvent turnEvent)
        {
            var followers = Followers.ToArray();
            var listening = await Task.WhenAll(followers.Select(f => SendAsync(f, turnEvent)));
            for (var i = 0; i < followers.Length; i++)
            {
                if (!listening[i] || turnEvent is AssistantCompleted or TurnFailed)
                {
                    Followers.Remove(followers[i]);
                }
            }
        }

        private static async Task<bool> SendAsync(ITurnObserver listener, TurnEvent turnEvent)
        {
            try
            {
                return await listener.OnEventAsync(turnEvent);
            }
            catch (Exception)
            {
                return false; // the listener's node is gone
            }
        }
    }
}
