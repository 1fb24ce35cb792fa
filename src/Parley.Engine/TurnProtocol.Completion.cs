using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Parley.Engine.Bots;

namespace Parley.Engine;

// The second half of a turn and its variants: the single commit, the replay of a key, settling a pending turn.
public sealed partial class TurnProtocol
{
    /// <summary>Generates the reply from the context plus the new message, then commits user message, reply and charge at once.</summary>
    /// <returns>The commit's outcome; null when the turn ended before committing (bot failed, client left; the failure is emitted).</returns>
    private async Task<AcceptOutcome?> RunSingleCommitTurnAsync(
        ConversationState state, ConversationContext context, IReadOnlyList<StoredMessage> branch, AcceptTurn accept, TurnPrompt prompt, ModelSpec model, TurnSink sink, CancellationToken aborted)
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
        var assistant = AssistantMessage(state, user, model, result, prompt.Sources);
        var committed = await _store.CommitTurnAsync(accept with { UserMessage = user }, assistant, CancellationToken.None);
        if (committed.Status == AcceptStatus.Accepted)
        {
            context.AppendTurn(branch, user, assistant);
            _metrics.TurnCompleted(assistant);
            await sink.EmitAsync(new UserMessageStored(user, committed.TokenBalance));
            await sink.EmitAsync(new AssistantCompleted(assistant, committed.TokenBalance));
        }

        return committed;
    }

    /// <summary>The conversation's system prompt, else <c>Bot:SystemPrompt</c> (an empty one means none).</summary>
    private string? SystemPromptOf(ConversationContext context) => context.SystemPrompt ?? _settings.SystemPrompt;

    /// <summary>The assistant message that stores <paramref name="result"/> as the reply to <paramref name="user"/>.</summary>
    private StoredMessage AssistantMessage(
        ConversationState state, StoredMessage user, ModelSpec model, ModelReply result, IReadOnlyList<MessageSource>? sources) => new(
        Guid.CreateVersion7(), state.ConversationId, user.Sequence + 1, MessageRoles.Assistant, result.Text, result.Status, null,
        _time.GetUtcNow().UtcDateTime, _settings.Tokens.Count(result.Text), model.Id, result.FinishReason, result.Usage, ParentId: user.Id,
        Sources: sources);

    /// <summary>
    /// The retrieval stage: excerpts of the owner's documents for <paramref name="userText"/> when the conversation uses
    /// them (<see cref="BotSettings.Documents"/>), else null. Runs before the turn is charged, outside the group-commit
    /// writer. A failure of the retrieval is logged as a warning and the turn goes on without excerpts (its reply then
    /// records no sources), so a broken index never costs the user a turn.
    /// </summary>
    private async Task<IReadOnlyList<DocumentExcerpt>?> ExcerptsAsync(
        ConversationState state, ConversationContext context, string userText, CancellationToken aborted)
    {
        if (!context.UseDocuments || _settings.Documents is not { } documents)
        {
            return null;
        }

        try
        {
            return await documents.FindExcerptsAsync(context.UserId, userText, aborted);
        }
        catch (Exception ex)
        {
            // A client that left while its excerpts were looked up: the turn's own cancellation handling follows.
            if (!aborted.IsCancellationRequested)
            {
                LogRetrievalFailed(_logger, ex, state.ConversationId);
            }

            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retrieving document excerpts for conversation {ConversationId} failed; the turn runs without them")]
    private static partial void LogRetrievalFailed(ILogger logger, Exception exception, Guid conversationId);

    private async Task ReplayAsync(TurnSink sink, TurnRequest request, StoredTurn turn)
    {
        if (turn.UserMessage.ClientMessageId != request.ClientMessageId || turn.UserMessage.Content != request.Content)
        {
            await sink.EmitAsync(new TurnFailed(TurnError.ClientMessageIdReused,
                "This clientMessageId was already used for a different message in this conversation.", Field: TurnFailed.ClientMessageIdField));
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
        return GenerateAndCompleteAsync(state, context, context.PendingMessage!, sink ?? TurnSink.None, CancellationToken.None, balance: null, excerpts: null);
    }

    private async Task GenerateAndCompleteAsync(
        ConversationState state, ConversationContext context, StoredMessage userMessage, TurnSink sink, CancellationToken aborted, long? balance,
        IReadOnlyList<DocumentExcerpt>? excerpts)
    {
        var model = _settings.Resolve(context.Model);
        excerpts ??= context.PartialReply is null ? await ExcerptsAsync(state, context, userMessage.Content, aborted) : null;
        var prompt = TurnPrompt.Build(SystemPromptOf(context), context.History(userMessage.Sequence), model, _settings.Tokens, excerpts);
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
        var assistant = AssistantMessage(state, userMessage, model, result, context.PartialReply is null ? prompt?.Sources : null);

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
                _metrics.TurnCompleted(assistant);
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
}
