using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Parley.Engine.Bots;

namespace Parley.Engine;

/// <summary>
/// Parley's conversation engine: routes every turn to its conversation's <see cref="ConversationActor"/>, keeps the
/// resident actors bounded, and settles turns cut short by a crash.
/// </summary>
/// <remarks>
/// Invariants (each pinned by a test in Parley.Engine.Tests):
/// <list type="number">
/// <item>Strict order: turns of one conversation run one at a time in arrival order; sequences are contiguous and roles alternate user, assistant.</item>
/// <item>Durable before acknowledged: <see cref="UserMessageStored"/> and <see cref="AssistantCompleted"/> are emitted only after their commit returned.</item>
/// <item>Bounded memory: at most <see cref="EngineOptions.MaxResidentConversations"/> actors after a sweep; idle ones leave after <see cref="EngineOptions.IdleTimeout"/>.</item>
/// <item>Idempotent sends: a repeated client message id yields the stored turn, never a second charge.</item>
/// <item>Atomic balance: the charge (per message, or per token the prompt estimate plus the model's output limit) is a
/// conditional update in the accept commit; the complete commit refunds a failed turn, or settles a per-token turn to its
/// usage, never charging more than was reserved — so a balance never goes below zero.</item>
/// </list>
/// </remarks>
public sealed partial class ConversationEngine : IDisposable
{
    private readonly ConcurrentDictionary<Guid, ConversationActor> _actors = new();
    private readonly Channel<bool> _sweepSignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Creates the engine. It starts no background work until <see cref="RunMaintenanceAsync"/> is called.</summary>
    /// <param name="store">The persistence path.</param>
    /// <param name="bot">The chat client that writes the assistant's replies.</param>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="timeProvider">The clock (timestamps, idle times, turn timeouts).</param>
    /// <param name="logger">Logger.</param>
    /// <param name="meterFactory">Creates the <c>Parley.Engine</c> meter; a standalone meter when null.</param>
    /// <param name="botSettings">Models, prompt, timeouts and quota mode of the turns; the echo bot's defaults when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public ConversationEngine(
        ITurnStore store,
        IChatClient bot,
        EngineOptions options,
        TimeProvider timeProvider,
        ILogger<ConversationEngine> logger,
        IMeterFactory? meterFactory = null,
        BotSettings? botSettings = null)
    {
        options.Validate();
        Store = store;
        Bot = bot;
        BotSettings = botSettings ?? new BotSettings();
        Options = options;
        Time = timeProvider;
        Logger = logger;
        Metrics = new EngineMetrics(meterFactory, () => _actors.Count);
    }

    internal ITurnStore Store { get; }

    internal IChatClient Bot { get; }

    internal EngineOptions Options { get; }

    /// <summary>Models, prompt, timeouts and the quota mode of the turns.</summary>
    public BotSettings BotSettings { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal EngineMetrics Metrics { get; }

    /// <summary>Tokens charged per accepted message.</summary>
    public long CostPerMessage => Options.CostPerMessage;

    /// <summary>Conversations with an actor in RAM now.</summary>
    public int ResidentCount => _actors.Count;

    /// <summary>
    /// Queues a turn on its conversation and returns the channel its <see cref="TurnEvent"/>s arrive on (the streaming
    /// path: the user message is stored before the bot runs). The turn takes its place in the conversation's order
    /// during this call.
    /// </summary>
    /// <param name="request">The turn.</param>
    /// <param name="aborted">Signals that the client went away: a turn not started yet is dropped (nothing charged); a running
    /// bot is stopped and its partial reply stored as <see cref="MessageStatuses.Cancelled"/>.</param>
    /// <returns>A reader that yields the turn's events and then completes. Bad content and a full mailbox yield a single <see cref="TurnFailed"/>.</returns>
    public ChannelReader<TurnEvent> Send(TurnRequest request, CancellationToken aborted = default) => Enqueue(new TurnWork(request, aborted));

    private ChannelReader<TurnEvent> Enqueue(TurnWork work)
    {
        var request = work.Request!;
        if (Validate(request) is { } invalid)
        {
            return Reject(work, TurnError.InvalidContent, invalid);
        }

        return EnqueueOnActor(request.ConversationId, work) == EnqueueResult.Full
            ? Reject(work, TurnError.QueueFull,
                $"Too many messages are waiting in this conversation (at most {Options.MailboxCapacity}); retry shortly.")
            : work.Events;
    }

    /// <summary>Puts <paramref name="work"/> in the conversation's live actor, replacing one that was evicted meanwhile.</summary>
    private EnqueueResult EnqueueOnActor(Guid conversationId, TurnWork work)
    {
        while (true)
        {
            var actor = _actors.GetOrAdd(conversationId, static (id, engine) => engine.CreateActor(id), this);
            var result = actor.TryEnqueue(work);
            if (result != EnqueueResult.Evicted)
            {
                return result;
            }

            _actors.TryRemove(new KeyValuePair<Guid, ConversationActor>(conversationId, actor));
        }
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
        StoredMessage? user = null, assistant = null;
        long? balance = null;
        TurnFailed? failure = null;
        // Read to the end even if the client left: the turn settles either way.
        await foreach (var turnEvent in Enqueue(new TurnWork(request, aborted, streaming: false)).ReadAllAsync(CancellationToken.None))
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

    /// <summary>
    /// Stops the conversation's running turn on this node: the model call is cancelled (the provider sees its request
    /// closed), the partial reply is stored with status and finish reason <c>cancelled</c>, and the turn's stream ends with
    /// its <see cref="AssistantCompleted"/>. Turns still queued behind it run as usual. The caller checks ownership.
    /// </summary>
    /// <param name="conversationId">The conversation.</param>
    /// <returns>True when a turn was running and was told to stop.</returns>
    public bool Stop(Guid conversationId) => _actors.TryGetValue(conversationId, out var actor) && actor.StopRunningTurn();

    /// <summary>Drops a conversation's in-RAM context so its next turn reloads it (call after deleting or editing it outside the engine).</summary>
    public void Invalidate(Guid conversationId)
    {
        if (_actors.TryGetValue(conversationId, out var actor))
        {
            actor.Invalidate();
        }
    }

    /// <summary>Counters since start, and the resident count now.</summary>
    public EngineStatistics GetStatistics() => Metrics.Snapshot(_actors.Count);

    /// <summary>
    /// Evicts idle actors (unused for <see cref="EngineOptions.IdleTimeout"/>) and then, while more than
    /// <see cref="EngineOptions.MaxResidentConversations"/> remain, the least recently used idle ones.
    /// </summary>
    /// <returns>How many actors were evicted.</returns>
    public int Sweep()
    {
        var evicted = 0;
        foreach (var (id, actor) in _actors)
        {
            if (Time.GetElapsedTime(actor.LastUsed) >= Options.IdleTimeout && TryEvict(id, actor))
            {
                evicted++;
            }
        }

        var excess = _actors.Count - Options.MaxResidentConversations;
        if (excess > 0)
        {
            var oldest = _actors.ToArray();
            Array.Sort(oldest, static (a, b) => a.Value.LastUsed.CompareTo(b.Value.LastUsed));
            foreach (var (id, actor) in oldest)
            {
                if (excess <= 0)
                {
                    break;
                }

                if (TryEvict(id, actor))
                {
                    evicted++;
                    excess--;
                }
            }
        }

        Metrics.Evicted(evicted);
        return evicted;
    }

    /// <summary>Sweeps every <see cref="EngineOptions.SweepInterval"/>, and at once when a new actor takes the count over the cap, until cancelled.</summary>
    /// <param name="cancellationToken">Stops the loop.</param>
    public async Task RunMaintenanceAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var interval = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                interval.CancelAfter(Options.SweepInterval);
                await _sweepSignal.Reader.ReadAsync(interval.Token);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException)
            {
                // The interval elapsed.
            }

            var evicted = Sweep();
            if (evicted > 0)
            {
                LogSwept(Logger, evicted, _actors.Count);
            }
        }
    }

    /// <summary>
    /// Finds the turns this node stored but never answered (the process died mid-turn) and queues each conversation to
    /// settle it: the bot answers it now, or it is stored as failed and refunded.
    /// </summary>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>How many conversations were queued.</returns>
    public async Task<int> RecoverPendingTurnsAsync(CancellationToken cancellationToken)
    {
        var pending = await Store.FindPendingConversationsAsync(Options.NodeId, cancellationToken);
        foreach (var conversationId in pending)
        {
            EnqueueOnActor(conversationId, new TurnWork(null, CancellationToken.None));
        }

        if (pending.Count > 0)
        {
            LogRecovering(Logger, pending.Count);
        }

        return pending.Count;
    }

    private ConversationActor CreateActor(Guid id)
    {
        if (_actors.Count >= Options.MaxResidentConversations)
        {
            _sweepSignal.Writer.TryWrite(true); // wake the sweep; one pending signal is enough
        }

        return new ConversationActor(id, this);
    }

    private bool TryEvict(Guid id, ConversationActor actor) =>
        actor.TryEvict() && _actors.TryRemove(new KeyValuePair<Guid, ConversationActor>(id, actor));

    private string? Validate(TurnRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Content))
        {
            return "The message content must not be empty.";
        }

        if (request.Content.Length > Options.MaxContentLength)
        {
            return $"The message content is {request.Content.Length} characters; at most {Options.MaxContentLength} are allowed.";
        }

        return request.ClientMessageId is { Length: 0 or > 100 } ? "A clientMessageId must be 1 to 100 characters." : null;
    }

    private ChannelReader<TurnEvent> Reject(TurnWork work, TurnError error, string detail)
    {
        Metrics.Rejected();
        work.Emit(new TurnFailed(error, detail));
        work.Finish();
        return work.Events;
    }

    /// <summary>Releases the meter.</summary>
    public void Dispose()
    {
        Metrics.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Evicted {Evicted} idle conversation contexts; {Resident} remain resident")]
    private static partial void LogSwept(ILogger logger, int evicted, int resident);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Settling unfinished turns of {Count} conversations left by a previous run of this node")]
    private static partial void LogRecovering(ILogger logger, int count);
}

/// <summary>The outcome of <see cref="ConversationEngine.SendAndWaitAsync"/>.</summary>
/// <param name="UserMessage">The stored user message; null when the send was rejected before storing.</param>
/// <param name="AssistantMessage">The stored reply; null on failure.</param>
/// <param name="TokenBalance">The user's balance after the turn, when known.</param>
/// <param name="Failure">Why the turn did not complete; null on success.</param>
public sealed record TurnResult(StoredMessage? UserMessage, StoredMessage? AssistantMessage, long? TokenBalance, TurnFailed? Failure);
