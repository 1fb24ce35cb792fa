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

    /// <summary>The field of a turn's parent message.</summary>
    private const string ParentIdField = "parentId";

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

        if (request.RegenerateOf is { } target)
        {
            return await RegenerateAsync(state, context, request, target, streaming, sink, aborted);
        }

        if (request.ClientMessageId is { } key && context.FindTurn(key) is { } earlier)
        {
            await ReplayAsync(sink, request, earlier);
            return Attempt.Finished;
        }

        // The branch the new message continues: the context sent to the bot is this path, never a sibling branch.
        if (await BranchOfAsync(state, context, request) is not { } branch)
        {
            await sink.EmitAsync(TurnFailed.Invalid(ParentIdField,
                "The parentId must be an assistant message of this conversation, or null for a new first message."));
            return Attempt.Finished;
        }

        var now = _time.GetUtcNow().UtcDateTime;
        var model = _settings.Resolve(context.Model);
        var userMessage = new StoredMessage(
            Guid.CreateVersion7(now), state.ConversationId, context.LastSequence + 1, MessageRoles.User, request.Content,
            MessageStatuses.Pending, request.ClientMessageId, now, _settings.Tokens.Count(request.Content),
            ParentId: branch.Count == 0 ? null : branch[^1].Id);
        var excerpts = await ExcerptsAsync(state, context, request.Content, aborted);
        var prompt = TurnPrompt.Build(SystemPromptOf(context), context.History(context.LastSequence, userMessage, branch), model, _settings.Tokens, excerpts);
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
                context.Accept(branch, userMessage, _options.NodeId, titled: accept.AutoTitle is not null);
                await sink.EmitAsync(new UserMessageStored(userMessage, outcome.TokenBalance));
                await GenerateAndCompleteAsync(state, context, userMessage, sink, aborted, outcome.TokenBalance, excerpts);
                return Attempt.Finished;
            }
        }
        else
        {
            // One commit: the reply is generated first, then both messages are stored together, so the turn costs one
            // group commit and a crash mid-turn leaves nothing half-done (nothing was acknowledged).
            var single = await RunSingleCommitTurnAsync(state, context, branch, accept, prompt, model, sink, aborted);
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
        state.Context = snapshot is null ? null : ConversationContext.From(state.ConversationId, snapshot, _options);
        return state.Context;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A turn of conversation {ConversationId} crashed; its context will be reloaded")]
    private static partial void LogTurnCrashed(ILogger logger, Exception exception, Guid conversationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Committing the reply of conversation {ConversationId} failed (attempt {Attempt}); retrying")]
    private static partial void LogCommitRetry(ILogger logger, Exception exception, Guid conversationId, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Settling the unfinished turn at sequence {Sequence} of conversation {ConversationId}")]
    private static partial void LogRecovering(ILogger logger, Guid conversationId, long sequence);
}
