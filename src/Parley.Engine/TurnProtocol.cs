using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Parley.Engine.Bots;

namespace Parley.Engine;

/// <summary>
/// The turn protocol, one conversation at a time: <b>accept</b> (charge and store the user message), <b>generate</b>
/// (the bot), <b>complete</b> (store the reply, settle the user message, refund a failure), <b>replay</b> (a repeated
/// client message id) and <b>settle</b> a turn left pending by a crash. Every commit is checked against the
/// conversation's version, so the database stays the arbiter whoever else writes the conversation.
/// </summary>
/// <remarks>
/// The protocol keeps no per-conversation state of its own: the caller (<see cref="ConversationGrain"/>, or the start-up
/// recovery) passes the <see cref="ConversationState"/> and must not run two calls on one state at once. Nothing is
/// emitted before the commit it reports returned (durable before acknowledged).
/// </remarks>
public sealed partial class TurnProtocol
{
    private const int MaxConflictRetries = 8;
    private const int MaxCompleteAttempts = 3;

    /// <summary>How much older than <see cref="EngineOptions.TurnTimeout"/> a pending turn of a live node must be to count as abandoned.</summary>
    public static readonly TimeSpan PendingGrace = TimeSpan.FromSeconds(10);

    private readonly ITurnStore _store;
    private readonly IChatClient _bot;
    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly EngineMetrics _metrics;
    private readonly INodeDirectory _nodes;
    private readonly ILogger _logger;
    private readonly BotSettings _settings;

    /// <summary>Creates the protocol over its dependencies.</summary>
    /// <param name="store">The persistence path.</param>
    /// <param name="bot">The chat client that writes the replies.</param>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="time">The clock (timestamps, turn timeouts, back-off).</param>
    /// <param name="metrics">The engine's counters.</param>
    /// <param name="nodes">Which nodes are alive (a pending turn of a dead node is settled at once).</param>
    /// <param name="logger">Logger.</param>
    /// <param name="botSettings">Models, prompt, timeouts and quota mode of the turns; the echo bot's defaults when null.</param>
    public TurnProtocol(
        ITurnStore store, IChatClient bot, EngineOptions options, TimeProvider time, EngineMetrics metrics, INodeDirectory nodes,
        ILogger<TurnProtocol> logger, BotSettings? botSettings = null)
    {
        options.Validate();
        (_store, _bot, _options, _time, _metrics, _nodes, _logger) = (store, bot, options, time, metrics, nodes, logger);
        _settings = botSettings ?? new BotSettings();
    }

    /// <summary>The settings the protocol runs with.</summary>
    public EngineOptions Options => _options;

    /// <summary>Models, prompt, timeouts and the quota mode of the turns.</summary>
    public BotSettings BotSettings => _settings;

    /// <summary>The chat client (for <see cref="ReplyGenerator"/>).</summary>
    internal IChatClient Bot => _bot;

    /// <summary>The clock (for <see cref="ReplyGenerator"/>).</summary>
    internal TimeProvider Time => _time;

    /// <summary>The logger (for <see cref="ReplyGenerator"/>).</summary>
    internal ILogger Logger => _logger;

    /// <summary>
    /// Runs one turn to its end, emitting its events to <paramref name="sink"/>. Version conflicts reload the context and
    /// retry; a pending turn in the way is settled first (or waited for, if its node is alive and it is young).
    /// </summary>
    /// <param name="state">The conversation's cached context.</param>
    /// <param name="request">The turn (already validated).</param>
    /// <param name="streaming">True: two commits, the user message is stored and announced before the bot runs. False: the reply is generated first and the turn committed once.</param>
    /// <param name="sink">Receives the turn's events.</param>
    /// <param name="aborted">The client left or asked to stop: a turn not stored yet ends with <see cref="TurnError.Cancelled"/>; a running bot stops and its partial reply is stored <see cref="MessageStatuses.Cancelled"/>.</param>
    public async Task RunAsync(ConversationState state, TurnRequest request, bool streaming, TurnSink sink, CancellationToken aborted)
    {
        var conflicts = 0;
        var waits = 0;
        try
        {
            while (true)
            {
                switch (await AttemptAsync(state, request, streaming, sink, aborted))
                {
                    case Attempt.Finished:
                        return;

                    case Attempt.SettledPendingTurnFirst:
                        continue;

                    case Attempt.PendingOnLiveNode:
                        state.Invalidate();
                        await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(25 << Math.Min(waits++, 5), 500)), _time, CancellationToken.None);
                        continue;

                    case Attempt.ContextStale:
                        state.Invalidate();
                        continue;

                    case Attempt.VersionConflict:
                        _metrics.Conflict();
                        state.Invalidate();
                        if (++conflicts > MaxConflictRetries)
                        {
                            await sink.EmitAsync(new TurnFailed(TurnError.Unavailable, "The conversation is too busy; try again."));
                            return;
                        }

                        continue;
                }
            }
        }
        catch (Exception ex)
        {
            // Unknown state: forget the context so the next turn rebuilds it from what is durable.
            state.Invalidate();
            LogTurnCrashed(_logger, ex, state.ConversationId);
            await sink.EmitAsync(new TurnFailed(TurnError.Unavailable, "The message could not be processed; nothing was charged unless it was stored."));
        }
    }

    /// <summary>Settles the conversation's pending turn if <paramref name="message"/>'s node left it (crash recovery); does nothing otherwise.</summary>
    /// <param name="state">The conversation's cached context.</param>
    /// <param name="message">Which node's pending turn to settle.</param>
    /// <param name="sink">Receives the settled turn's events (its final <see cref="AssistantCompleted"/> or <see cref="TurnFailed"/>); none when null.</param>
    /// <returns>True when a pending turn was settled.</returns>
    public async Task<bool> SettleAsync(ConversationState state, SettlePendingTurn message, TurnSink? sink = null)
    {
        try
        {
            if (await LoadAsync(state) is { PendingNodeId: { } node } context && node == message.LeftByNode)
            {
                await SettlePendingAsync(state, context, sink ?? TurnSink.None);
                return true;
            }

            return false;
        }
        catch (Exception ex)
        {
            state.Invalidate();
            LogTurnCrashed(_logger, ex, state.ConversationId);
            return false;
        }
    }

    /// <summary>What one pass of <see cref="RunAsync"/>'s retry loop came to.</summary>
    private enum Attempt
    {
        /// <summary>The turn ended (acknowledged, replayed or failed); its events are emitted.</summary>
        Finished,

        /// <summary>A pending turn was in the way and was settled; try again on the new context.</summary>
        SettledPendingTurnFirst,

        /// <summary>A live node's young turn is pending; wait, re-reading the database.</summary>
        PendingOnLiveNode,

        /// <summary>The context is known to be out of date (e.g. a duplicate client message id raced us); reload and try again.</summary>
        ContextStale,

        /// <summary>The version check refused the commit: another writer committed since our snapshot; reload and try again.</summary>
        VersionConflict,
    }

    private async Task<Attempt> AttemptAsync(ConversationState state, TurnRequest request, bool streaming, TurnSink sink, CancellationToken aborted)
    {
        if (aborted.IsCancellationRequested)
        {
            await sink.EmitAsync(new TurnFailed(TurnError.Cancelled, "The request was cancelled before the message was stored."));
            return Attempt.Finished;
        }

        var context = await LoadAsync(state);
        if (context is null || context.UserId != request.UserId)
        {
            await sink.EmitAsync(new TurnFailed(TurnError.NotFound, "The conversation does not exist."));
            return Attempt.Finished;
        }

        if (context.PendingNodeId is { } pendingNode)
        {
            // The previous turn has no reply. Left by this node, by a node that is gone, or long abandoned: settle it.
            // A live node's young turn (two activations briefly coexisting): wait for it.
            if (pendingNode == _options.NodeId || !_nodes.IsActive(pendingNode) || IsAbandoned(context.PendingMessage!))
            {
                await SettlePendingAsync(state, context);
                return Attempt.SettledPendingTurnFirst;
            }

            return Attempt.PendingOnLiveNode;
        }

        if (request.ClientMessageId is { } key && context.FindTurn(key) is { } earlier)
        {
            await ReplayAsync(sink, request, earlier);
            return Attempt.Finished;
        }

        var now = _time.GetUtcNow().UtcDateTime;
        var model = _settings.Resolve(context.Model);
        var userMessage = new StoredMessage(
            Guid.CreateVersion7(now), state.ConversationId, context.LastSequence + 1, MessageRoles.User, request.Content,
            MessageStatuses.Pending, request.ClientMessageId, now, _settings.Tokens.Count(request.Content));
        var prompt = TurnPrompt.Build(SystemPromptOf(context), context.History(context.LastSequence, userMessage), model, _settings.Tokens);
        if (prompt is null)
        {
            await sink.EmitAsync(new TurnFailed(TurnError.InvalidContent,
                $"The message content is {userMessage.TokenCount} tokens; the model {model.Id} takes at most {model.PromptBudget} tokens of prompt, including the system prompt."));
            return Attempt.Finished;
        }

        // PerToken reserves the most the turn can cost; the unused rest is refunded when the reply is stored.
        var cost = _settings.QuotaMode == QuotaMode.PerToken ? prompt.Tokens + (long)model.MaxOutputTokens : _options.CostPerMessage;
        userMessage = userMessage with { Charge = cost };
        var accept = new AcceptTurn(request.UserId, context.Version, userMessage, cost,
            _options.NodeId, context.HasTitle || _settings.Titles is not null ? null : TitleFrom(request.Content));

        AcceptOutcome outcome;
        if (streaming || _settings.StoreBeforeReply)
        {
            // Two commits: the user message is stored (and announced) before the bot starts streaming.
            outcome = await _store.AcceptAsync(accept, CancellationToken.None);
            if (outcome.Status == AcceptStatus.Accepted)
            {
                context.Accept(userMessage, _options.NodeId, titled: accept.AutoTitle is not null);
                await sink.EmitAsync(new UserMessageStored(userMessage, outcome.TokenBalance));
                await GenerateAndCompleteAsync(state, context, userMessage, sink, aborted, outcome.TokenBalance);
                return Attempt.Finished;
            }
        }
        else
        {
            // One commit: the reply is generated first, then both messages are stored together, so the turn costs one
            // group commit and a crash mid-turn leaves nothing half-done (nothing was acknowledged).
            var single = await RunSingleCommitTurnAsync(state, context, accept, prompt, model, sink, aborted);
            if (single is null)
            {
                return Attempt.Finished;
            }

            outcome = single.Value;
            if (outcome.Status == AcceptStatus.Accepted)
            {
                return Attempt.Finished;
            }
        }

        switch (outcome.Status)
        {
            case AcceptStatus.InsufficientBalance:
                await sink.EmitAsync(new TurnFailed(TurnError.InsufficientBalance, _settings.QuotaMode == QuotaMode.PerToken
                        ? $"The token balance does not cover this message: it needs {cost} tokens (the prompt, {prompt.Tokens}, plus up to {model.MaxOutputTokens} for the reply)."
                        : $"The token balance does not cover a message ({cost} tokens).",
                    await _store.GetBalanceAsync(request.UserId, CancellationToken.None)));
                return Attempt.Finished;

            case AcceptStatus.DuplicateClientMessageId:
                var stored = await _store.FindTurnAsync(state.ConversationId, request.ClientMessageId!, CancellationToken.None);
                state.Invalidate();
                if (stored is null)
                {
                    return Attempt.ContextStale;
                }

                await ReplayAsync(sink, request, stored);
                return Attempt.Finished;

            default:
                return Attempt.VersionConflict;
        }
    }

    private async Task<ConversationContext?> LoadAsync(ConversationState state)
    {
        if (state.Context is { } cached)
        {
            _metrics.ContextHit();
            return cached;
        }

        _metrics.ContextMiss();
        var snapshot = await _store.LoadAsync(state.ConversationId, _options.ContextWindowMessages, CancellationToken.None);
        state.Context = snapshot is null ? null : ConversationContext.From(snapshot, _options);
        return state.Context;
    }

    /// <summary>Generates the reply from the context plus the new message, then commits user message, reply and charge at once.</summary>
    /// <returns>The commit's outcome; null when the turn ended before committing (bot failed, client left; the failure is emitted).</returns>
    private async Task<AcceptOutcome?> RunSingleCommitTurnAsync(
        ConversationState state, ConversationContext context, AcceptTurn accept, TurnPrompt prompt, ModelSpec model, TurnSink sink, CancellationToken aborted)
    {
        var result = await ReplyGenerator.GenerateAsync(this, state.ConversationId, prompt, model, onDelta: null, aborted);
        if (result.Status != MessageStatuses.Completed)
        {
            if (result.Failure is not null)
            {
                _metrics.TurnFailed();
            }

            await sink.EmitAsync(result.Failure is { } failed
                ? new TurnFailed(failed.Error, failed.Detail + " Nothing was stored or charged.")
                : new TurnFailed(TurnError.Cancelled, "The request was cancelled before the turn was stored; nothing was charged."));
            return null;
        }

        var user = accept.UserMessage with { Status = MessageStatuses.Completed };
        var assistant = AssistantMessage(state, user, model, result);
        var committed = await _store.CommitTurnAsync(accept with { UserMessage = user }, assistant, CancellationToken.None);
        if (committed.Status == AcceptStatus.Accepted)
        {
            context.AppendTurn(user, assistant);
            _metrics.TurnCompleted();
            await sink.EmitAsync(new UserMessageStored(user, committed.TokenBalance));
            await sink.EmitAsync(new AssistantCompleted(assistant, committed.TokenBalance));
        }

        return committed;
    }

    /// <summary>The conversation's system prompt, else <c>Bot:SystemPrompt</c> (an empty one means none).</summary>
    private string? SystemPromptOf(ConversationContext context) => context.SystemPrompt ?? _settings.SystemPrompt;

    /// <summary>The assistant message that stores <paramref name="result"/> as the reply to <paramref name="user"/>.</summary>
    private StoredMessage AssistantMessage(ConversationState state, StoredMessage user, ModelSpec model, ModelReply result) => new(
        Guid.CreateVersion7(), state.ConversationId, user.Sequence + 1, MessageRoles.Assistant, result.Text, result.Status, null,
        _time.GetUtcNow().UtcDateTime, _settings.Tokens.Count(result.Text), model.Id, result.FinishReason, result.Usage);

    private async Task ReplayAsync(TurnSink sink, TurnRequest request, StoredTurn turn)
    {
        if (turn.UserMessage.Content != request.Content)
        {
            await sink.EmitAsync(new TurnFailed(TurnError.ClientMessageIdReused,
                "This clientMessageId was already used for a different message in this conversation."));
            return;
        }

        if (turn.AssistantMessage is null)
        {
            await sink.EmitAsync(new TurnFailed(TurnError.Unavailable, "The original message with this clientMessageId is still being answered."));
            return;
        }

        var balance = await _store.GetBalanceAsync(request.UserId, CancellationToken.None) ?? 0;
        await sink.EmitAsync(new UserMessageStored(turn.UserMessage, balance, Replayed: true));
        await sink.EmitAsync(new AssistantCompleted(turn.AssistantMessage, balance));
        _metrics.Replayed();
    }

    private bool IsAbandoned(StoredMessage pending) =>
        _time.GetUtcNow().UtcDateTime - pending.CreatedAt > _options.TurnTimeout + PendingGrace;

    /// <summary>
    /// Finishes a turn whose user message was stored but whose reply was not. A turn that crashed mid-reply after a
    /// checkpoint is stored failed with the checkpointed text and refunded; one without a checkpoint is answered by the
    /// bot now (or fails and is refunded).
    /// </summary>
    private Task SettlePendingAsync(ConversationState state, ConversationContext context, TurnSink? sink = null)
    {
        _metrics.Recovered();
        LogRecovering(_logger, state.ConversationId, context.PendingMessage!.Sequence);
        return GenerateAndCompleteAsync(state, context, context.PendingMessage!, sink ?? TurnSink.None, CancellationToken.None, balance: null);
    }

    private async Task GenerateAndCompleteAsync(
        ConversationState state, ConversationContext context, StoredMessage userMessage, TurnSink sink, CancellationToken aborted, long? balance)
    {
        var model = _settings.Resolve(context.Model);
        var prompt = TurnPrompt.Build(SystemPromptOf(context), context.History(userMessage.Sequence), model, _settings.Tokens);
        var checkpoints = new TurnCheckpoints(_store, _time, _options.CheckpointInterval, _logger, context.UserId, state.ConversationId, context.Version);
        var result = prompt is null
            ? new ModelReply("", MessageStatuses.Failed, FinishReasons.Error, new TokenUsage(0, 0),
                new BotFailure(TurnError.InvalidContent, $"The message no longer fits the prompt budget of the model {model.Id}."))
            : context.PartialReply is { } interrupted
            ? new ModelReply(interrupted, MessageStatuses.Failed, FinishReasons.Error, new TokenUsage(prompt.Tokens, _settings.Tokens.Count(interrupted)),
                new BotFailure(TurnError.Unavailable, "The node writing this reply stopped mid-reply; the text written until its last checkpoint is kept."))
            : await ReplyGenerator.GenerateAsync(this, state.ConversationId, prompt, model, text =>
            {
                checkpoints.Append(text);
                return sink.EmitAsync(new AssistantDelta(text));
            }, aborted);
        var failed = result.Status == MessageStatuses.Failed;
        var assistant = AssistantMessage(state, userMessage, model, result);

        // A failed turn gives back everything; PerToken keeps what the reply used (never more than it reserved).
        var charged = userMessage.Charge > 0 || _settings.QuotaMode == QuotaMode.PerToken ? userMessage.Charge : _options.CostPerMessage;
        var refund = failed ? charged
            : _settings.QuotaMode == QuotaMode.PerToken ? charged - Math.Min(charged, result.Usage.Total)
            : 0;
        var command = new CompleteTurn(context.UserId, context.Version, assistant, refund, userMessage.Id);

        for (var attempt = 1; ; attempt++)
        {
            CompleteOutcome outcome;
            try
            {
                outcome = await _store.CompleteAsync(command, CancellationToken.None);
            }
            catch (Exception ex) when (attempt < MaxCompleteAttempts)
            {
                LogCommitRetry(_logger, ex, state.ConversationId, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), _time, CancellationToken.None);
                continue;
            }

            if (!outcome.Completed)
            {
                // Someone else settled this turn (it looked abandoned to them). Their reply stands.
                _metrics.Conflict();
                state.Invalidate();
                await sink.EmitAsync(new TurnFailed(TurnError.Unavailable, "The reply was superseded; reload the conversation."));
                return;
            }

            context.Complete(assistant);
            if (failed)
            {
                _metrics.TurnFailed();
                await sink.EmitAsync(new TurnFailed(result.Failure!.Error, result.Failure.Detail + " The message was not charged.", outcome.TokenBalance));
            }
            else
            {
                _metrics.TurnCompleted();
                await sink.EmitAsync(new AssistantCompleted(assistant, outcome.TokenBalance ?? balance ?? 0));
                if (!context.HasTitle && _settings.Titles is { } titles && result.Status == MessageStatuses.Completed)
                {
                    // The first reply of an untitled conversation (or the first to succeed): title it in the background.
                    context.MarkTitled();
                    titles.Schedule(state.ConversationId, model.Id, userMessage.Content, assistant.Content);
                }
            }

            return;
        }
    }

    private static string TitleFrom(string content)
    {
        var line = content.AsSpan().Trim();
        var newline = line.IndexOfAny('\r', '\n');
        if (newline >= 0)
        {
            line = line[..newline].TrimEnd();
        }

        return line.Length <= 60 ? line.ToString() : string.Concat(line[..57].TrimEnd(), "...");
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A turn of conversation {ConversationId} crashed; its context will be reloaded")]
    private static partial void LogTurnCrashed(ILogger logger, Exception exception, Guid conversationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Committing the reply of conversation {ConversationId} failed (attempt {Attempt}); retrying")]
    private static partial void LogCommitRetry(ILogger logger, Exception exception, Guid conversationId, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Settling the unfinished turn at sequence {Sequence} of conversation {ConversationId}")]
    private static partial void LogRecovering(ILogger logger, Guid conversationId, long sequence);
}

/// <summary>A conversation's cached context, owned by whoever runs the protocol on it (its grain); one call at a time.</summary>
/// <param name="conversationId">The conversation.</param>
public sealed class ConversationState(Guid conversationId)
{
    /// <summary>The conversation.</summary>
    public Guid ConversationId { get; } = conversationId;

    /// <summary>True while a context is cached (the next turn needs no database read).</summary>
    public bool IsLoaded => Context is not null;

    internal ConversationContext? Context { get; set; }

    /// <summary>Forgets the cached context: the next turn reloads it from the database.</summary>
    public void Invalidate() => Context = null;
}

/// <summary>The message "settle the turn that <paramref name="LeftByNode"/> left pending in this conversation" (crash recovery).</summary>
/// <param name="ConversationId">The conversation.</param>
/// <param name="LeftByNode">The node whose pending turn to settle (<see cref="EngineOptions.NodeId"/>).</param>
[GenerateSerializer, Immutable]
public sealed record SettlePendingTurn(Guid ConversationId, string LeftByNode);

/// <summary>Where a turn's events go, in order. <see cref="EmitAsync"/> returns once the event is handed on.</summary>
public abstract class TurnSink
{
    /// <summary>A sink that drops every event (settling a pending turn: nobody is waiting for it).</summary>
    public static readonly TurnSink None = new NullSink();

    /// <summary>Hands on one event.</summary>
    public abstract ValueTask EmitAsync(TurnEvent turnEvent);

    private sealed class NullSink : TurnSink
    {
        public override ValueTask EmitAsync(TurnEvent turnEvent) => ValueTask.CompletedTask;
    }
}

/// <summary>Whether a node (by <see cref="EngineOptions.NodeId"/>) is a live member of the cluster.</summary>
public interface INodeDirectory
{
    /// <summary>True when <paramref name="nodeId"/> is an active member now; false when it is dead, leaving or unknown.</summary>
    bool IsActive(string nodeId);
}
