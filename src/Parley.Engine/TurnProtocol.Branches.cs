using Parley.Engine.Bots;

namespace Parley.Engine;

// Branches. The path a new user message follows: the current branch, or an earlier parent (an edit). A regenerate: a new
// assistant sibling of a reply, written from the same context (the path from the root to the user message the reply
// answers). It is a turn like any other — queued behind a running one, charged, idempotent with its client message id —
// but it stores one message, after the bot replied, in one commit with its charge: a crash or a bot failure before that
// commit leaves nothing stored and nothing charged.
public sealed partial class TurnProtocol
{
    /// <summary>
    /// The path (root first) that a new user message of <paramref name="request"/> follows: the window for the current
    /// message, nothing for a new root, else the path to the requested parent — null when that is not an assistant message
    /// of the conversation.
    /// </summary>
    private async Task<IReadOnlyList<StoredMessage>?> BranchOfAsync(ConversationState state, ConversationContext context, TurnRequest request)
    {
        switch (request.Parent)
        {
            case TurnParent.Root:
                return [];
            case TurnParent.Message when request.ParentId != context.LeafId:
                var path = await _store.LoadPathAsync(state.ConversationId, request.ParentId!.Value, _options.ContextWindowMessages, CancellationToken.None);
                return path.Count > 0 && path[^1].Id == request.ParentId && path[^1].Role == MessageRoles.Assistant ? path : null;
            default:
                return context.LeafIsUser ? null : context.Window;
        }
    }

    private async Task<Attempt> RegenerateAsync(
        ConversationState state, ConversationContext context, TurnRequest request, Guid targetId, bool streaming, TurnSink sink, CancellationToken aborted)
    {
        // The target and its context: root → … → the user message it answers.
        IReadOnlyList<StoredMessage> path = context.IndexOf(targetId) is var index and >= 1
            ? context.Window.Take(index + 1).ToList()
            : await _store.LoadPathAsync(state.ConversationId, targetId, _options.ContextWindowMessages + 1, CancellationToken.None);
        if (path.Count == 0 || path[^1].Id != targetId)
        {
            await sink.EmitAsync(new TurnFailed(TurnError.NotFound, "The message does not exist."));
            return Attempt.Finished;
        }

        if (path[^1].Role != MessageRoles.Assistant || path.Count < 2 || path[^2].Role != MessageRoles.User)
        {
            await sink.EmitAsync(TurnFailed.Invalid("messageId", "Only an assistant message that answers a user message can be regenerated."));
            return Attempt.Finished;
        }

        var branch = path.Take(path.Count - 1).ToList();
        var user = branch[^1];
        if (request.ClientMessageId is { } key
            && (context.FindTurn(key) ?? await _store.FindTurnAsync(state.ConversationId, key, CancellationToken.None)) is { } earlier)
        {
            await ReplayRegenerateAsync(sink, request, earlier, user);
            return Attempt.Finished;
        }

        var model = _settings.Resolve(context.Model);
        var history = context.History(context.LastSequence, user with { Status = MessageStatuses.Completed }, branch.Take(branch.Count - 1).ToList());
        var excerpts = await ExcerptsAsync(state, context, user.Content, aborted);
        var prompt = TurnPrompt.Build(SystemPromptOf(context), history, model, _settings.Tokens, excerpts);
        if (prompt is null)
        {
            await sink.EmitAsync(TurnFailed.Invalid(TurnFailed.ContentField, $"The conversation no longer fits the prompt budget of the model {model.Id}."));
            return Attempt.Finished;
        }

        // Charged like any reply: PerToken reserves the most it can cost and charges what it used.
        var reserve = _settings.QuotaMode == QuotaMode.PerToken ? prompt.Tokens + (long)model.MaxOutputTokens : _options.CostPerMessage;
        if (await _store.GetBalanceAsync(request.UserId, CancellationToken.None) is not { } balance || balance < reserve)
        {
            await sink.EmitAsync(new TurnFailed(TurnError.InsufficientBalance,
                $"The token balance does not cover a reply ({reserve} tokens).", await _store.GetBalanceAsync(request.UserId, CancellationToken.None)));
            return Attempt.Finished;
        }

        if (aborted.IsCancellationRequested)
        {
            await sink.EmitAsync(new TurnFailed(TurnError.Cancelled, "The request was cancelled before the reply was generated; nothing was charged."));
            return Attempt.Finished;
        }

        var result = await ReplyGenerator.GenerateAsync(this, state.ConversationId, prompt, model,
            streaming ? text => sink.EmitAsync(new AssistantDelta(text)) : null, aborted);
        if (result.Status == MessageStatuses.Failed)
        {
            _metrics.TurnFailed();
            await sink.EmitAsync(new TurnFailed(result.Failure!.Error, result.Failure.Detail + " Nothing was stored or charged."));
            return Attempt.Finished;
        }

        var cost = _settings.QuotaMode == QuotaMode.PerToken ? Math.Min(reserve, result.Usage.Total) : _options.CostPerMessage;
        for (var conflicts = 0; ; conflicts++)
        {
            // The reply is generated once; only its commit is retried after another writer moved the conversation on.
            var reply = AssistantMessage(state, user, model, result, prompt.Sources) with { Sequence = context.LastSequence + 1, ClientMessageId = request.ClientMessageId };
            var outcome = await _store.CommitRegeneratedAsync(new RegenerateTurn(request.UserId, context.Version, reply, cost), CancellationToken.None);
            switch (outcome.Status)
            {
                case AcceptStatus.Accepted:
                    context.AppendReply(branch, reply);
                    _metrics.TurnCompleted(reply);
                    await sink.EmitAsync(new AssistantCompleted(reply, outcome.TokenBalance));
                    return Attempt.Finished;

                case AcceptStatus.InsufficientBalance:
                    await sink.EmitAsync(new TurnFailed(TurnError.InsufficientBalance, $"The token balance does not cover the reply ({cost} tokens).",
                        await _store.GetBalanceAsync(request.UserId, CancellationToken.None)));
                    return Attempt.Finished;

                case AcceptStatus.DuplicateClientMessageId:
                    state.Invalidate();
                    if (await _store.FindTurnAsync(state.ConversationId, request.ClientMessageId!, CancellationToken.None) is not { } stored)
                    {
                        return Attempt.ContextStale;
                    }

                    await ReplayRegenerateAsync(sink, request, stored, user);
                    return Attempt.Finished;
            }

            _metrics.Conflict();
            state.Invalidate();
            if (conflicts >= MaxConflictRetries || await LoadAsync(state) is not { PendingNodeId: null } reloaded || reloaded.UserId != request.UserId)
            {
                await sink.EmitAsync(new TurnFailed(TurnError.Unavailable, "The conversation is too busy; try again. Nothing was stored or charged."));
                return Attempt.Finished;
            }

            context = reloaded;
        }
    }

    /// <summary>Answers a repeated regenerate with its stored reply; a key used for anything else is a 409.</summary>
    private async Task ReplayRegenerateAsync(TurnSink sink, TurnRequest request, StoredTurn turn, StoredMessage user)
    {
        if (turn.AssistantMessage is not { } reply || reply.ClientMessageId != request.ClientMessageId || reply.ParentId != user.Id)
        {
            await sink.EmitAsync(new TurnFailed(TurnError.ClientMessageIdReused,
                "This clientMessageId was already used for a different message in this conversation.", Field: TurnFailed.ClientMessageIdField));
            return;
        }

        await sink.EmitAsync(new AssistantCompleted(reply, await _store.GetBalanceAsync(request.UserId, CancellationToken.None) ?? 0));
        _metrics.Replayed();
    }
}
