using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Parley.Engine.Bots;

namespace Parley.Engine;

/// <summary>
/// The single owner of one conversation on this node: a bounded mailbox (a <see cref="Channel{T}"/>) of turns, drained
/// by at most one task at a time, so the conversation's turns run one after another in arrival order, each seeing the
/// context that every earlier turn left. The actor holds the conversation's <see cref="ConversationContext"/>, loading
/// it from the database on first use and again after any version conflict.
/// </summary>
/// <remarks>
/// No task is parked on an idle actor: the drain loop is started when a turn arrives and ends when the mailbox is
/// empty, so a resident conversation costs only its context and an empty channel.
/// </remarks>
internal sealed partial class ConversationActor
{
    private const int MaxConflictRetries = 8;
    private const int MaxCompleteAttempts = 3;
    private static readonly TimeSpan PendingGrace = TimeSpan.FromSeconds(10);

    private readonly Guid _id;
    private readonly ConversationEngine _engine;
    private readonly Channel<TurnWork> _mailbox;
    private readonly Lock _gate = new();
    private ConversationContext? _context;
    private TurnWork? _current;
    private volatile bool _stale;
    private bool _running;
    private bool _evicted;
    private long _lastUsed;

    public ConversationActor(Guid id, ConversationEngine engine)
    {
        _id = id;
        _engine = engine;
        _mailbox = Channel.CreateBounded<TurnWork>(new BoundedChannelOptions(engine.Options.MailboxCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _lastUsed = engine.Time.GetTimestamp();
    }

    /// <summary>Timestamp (<see cref="TimeProvider.GetTimestamp"/>) of the last enqueue or finished turn.</summary>
    public long LastUsed => Volatile.Read(ref _lastUsed);

    public EnqueueResult TryEnqueue(TurnWork work)
    {
        lock (_gate)
        {
            if (_evicted)
            {
                return EnqueueResult.Evicted;
            }

            if (!_mailbox.Writer.TryWrite(work))
            {
                return EnqueueResult.Full;
            }

            Touch();
            if (!_running)
            {
                _running = true;
                ThreadPool.UnsafeQueueUserWorkItem(static actor => _ = actor.DrainAsync(), this, preferLocal: false);
            }
        }

        return EnqueueResult.Enqueued;
    }

    /// <summary>Marks the actor evicted if it is idle (nothing running or queued); an evicted actor accepts no more turns.</summary>
    public bool TryEvict()
    {
        lock (_gate)
        {
            if (_running || _mailbox.Reader.Count > 0)
            {
                return false;
            }

            _evicted = true;
            _context = null;
            return true;
        }
    }

    /// <summary>Makes the next turn reload the context from the database (e.g. after the conversation was deleted).</summary>
    public void Invalidate() => _stale = true;

    /// <summary>Stops the turn running now, if any: its model call is cancelled and its partial reply stored as cancelled.</summary>
    /// <returns>True when a turn was running.</returns>
    public bool StopRunningTurn() => Volatile.Read(ref _current)?.RequestStop() == true;

    private void Touch() => Volatile.Write(ref _lastUsed, _engine.Time.GetTimestamp());

    private async Task DrainAsync()
    {
        while (true)
        {
            while (_mailbox.Reader.TryRead(out var work))
            {
                await ProcessAsync(work);
                Touch();
            }

            lock (_gate)
            {
                if (_mailbox.Reader.Count == 0)
                {
                    _running = false;
                    return;
                }
            }
        }
    }

    private async Task ProcessAsync(TurnWork work)
    {
        Volatile.Write(ref _current, work);
        try
        {
            if (work.Request is null)
            {
                if (await GetContextAsync() is { PendingNodeId: not null } context)
                {
                    await SettlePendingAsync(context);
                }
            }
            else
            {
                await RunTurnAsync(work, work.Request);
            }
        }
        catch (Exception ex)
        {
            // Unknown state: forget the context so the next turn rebuilds it from what is durable.
            _context = null;
            LogTurnCrashed(_engine.Logger, ex, _id);
            work.Emit(new TurnFailed(TurnError.Unavailable, "The message could not be processed; nothing was charged unless it was stored."));
        }
        finally
        {
            Volatile.Write(ref _current, null);
            work.Finish();
        }
    }

    private async Task<ConversationContext?> GetContextAsync()
    {
        if (_stale)
        {
            _stale = false;
            _context = null;
        }

        if (_context is not null)
        {
            _engine.Metrics.ContextHit();
            return _context;
        }

        _engine.Metrics.ContextMiss();
        var snapshot = await _engine.Store.LoadAsync(_id, _engine.Options.ContextWindowMessages, CancellationToken.None);
        _context = snapshot is null ? null : ConversationContext.From(snapshot, _engine.Options);
        return _context;
    }

    private async Task RunTurnAsync(TurnWork work, TurnRequest request)
    {
        var conflicts = 0;
        var waits = 0;
        while (true)
        {
            if (work.Aborted.IsCancellationRequested)
            {
                work.Emit(new TurnFailed(TurnError.Cancelled, "The request was cancelled before the message was stored."));
                return;
            }

            var context = await GetContextAsync();
            if (context is null || context.UserId != request.UserId)
            {
                work.Emit(new TurnFailed(TurnError.NotFound, "The conversation does not exist."));
                return;
            }

            if (context.PendingNodeId is { } pendingNode)
            {
                // The previous turn has no reply yet. Ours (a crash before its second commit) or abandoned: settle it.
                // Another node's live turn: wait for it, re-reading the database.
                if (pendingNode == _engine.Options.NodeId || IsAbandoned(context.PendingMessage!))
                {
                    await SettlePendingAsync(context);
                    continue;
                }

                _context = null;
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(25 << Math.Min(waits++, 5), 500)), _engine.Time, CancellationToken.None);
                continue;
            }

            if (request.ClientMessageId is { } key && context.FindTurn(key) is { } earlier)
            {
                await ReplayAsync(work, request, earlier);
                return;
            }

            var now = _engine.Time.GetUtcNow().UtcDateTime;
            var settings = _engine.BotSettings;
            var model = settings.Resolve(context.Model);
            var userMessage = new StoredMessage(
                Guid.CreateVersion7(now), _id, context.LastSequence + 1, MessageRoles.User, request.Content,
                MessageStatuses.Pending, request.ClientMessageId, now, settings.Tokens.Count(request.Content));
            var prompt = TurnPrompt.Build(SystemPromptOf(context), context.History(context.LastSequence, userMessage), model, settings.Tokens);
            if (prompt is null)
            {
                work.Emit(new TurnFailed(TurnError.InvalidContent,
                    $"The message content is {userMessage.TokenCount} tokens; the model {model.Id} takes at most {model.PromptBudget} tokens of prompt, including the system prompt."));
                return;
            }

            // PerToken reserves the most the turn can cost; the unused rest is refunded when the reply is stored.
            var cost = settings.QuotaMode == QuotaMode.PerToken ? prompt.Tokens + (long)model.MaxOutputTokens : _engine.Options.CostPerMessage;
            userMessage = userMessage with { Charge = cost };
            var accept = new AcceptTurn(request.UserId, context.Version, userMessage, cost,
                _engine.Options.NodeId, context.HasTitle || settings.Titles is not null ? null : TitleFrom(request.Content));

            TurnOutcome outcome;
            if (work.Streaming || settings.StoreBeforeReply)
            {
                // Two commits: the user message is stored (and announced) before the bot starts streaming.
                var accepted = await _engine.Store.AcceptAsync(accept, CancellationToken.None);
                outcome = new TurnOutcome(accepted.Status, accepted.TokenBalance, null);
                if (accepted.Status == AcceptStatus.Accepted)
                {
                    context.Accept(userMessage, _engine.Options.NodeId, titled: accept.AutoTitle is not null);
                    work.Emit(new UserMessageStored(userMessage, accepted.TokenBalance));
                    await GenerateAndCompleteAsync(context, userMessage, work, accepted.TokenBalance);
                    return;
                }
            }
            else
            {
                // One commit: the reply is generated first, then both messages are stored together, so the turn
                // costs one group commit and a crash mid-turn leaves nothing half-done (nothing was acknowledged).
                outcome = await RunSingleCommitTurnAsync(work, context, accept, prompt, model);
                if (outcome.Status == AcceptStatus.Accepted || outcome.Failure is not null)
                {
                    return;
                }
            }

            switch (outcome.Status)
            {
                case AcceptStatus.InsufficientBalance:
                    work.Emit(new TurnFailed(TurnError.InsufficientBalance, settings.QuotaMode == QuotaMode.PerToken
                            ? $"The token balance does not cover this message: it needs {cost} tokens (the prompt, {prompt.Tokens}, plus up to {model.MaxOutputTokens} for the reply)."
                            : $"The token balance does not cover a message ({cost} tokens).",
                        await _engine.Store.GetBalanceAsync(request.UserId, CancellationToken.None)));
                    return;

                case AcceptStatus.DuplicateClientMessageId:
                    var stored = await _engine.Store.FindTurnAsync(_id, request.ClientMessageId!, CancellationToken.None);
                    _context = null;
                    if (stored is null)
                    {
                        continue;
                    }

                    await ReplayAsync(work, request, stored);
                    return;

                default:
                    // Another writer committed since our snapshot: reload and try again.
                    _engine.Metrics.Conflict();
                    _context = null;
                    if (++conflicts > MaxConflictRetries)
                    {
                        work.Emit(new TurnFailed(TurnError.Unavailable, "The conversation is too busy; try again."));
                        return;
                    }

                    continue;
            }
        }
    }

    /// <summary>Generates the reply from the context plus the new message, then commits user message, reply and charge at once.</summary>
    /// <returns>The commit's outcome; <see cref="TurnOutcome.Failure"/> is set (and emitted) when the bot failed or the client left.</returns>
    private async Task<TurnOutcome> RunSingleCommitTurnAsync(TurnWork work, ConversationContext context, AcceptTurn accept, TurnPrompt prompt, ModelSpec model)
    {
        var result = await ReplyGenerator.GenerateAsync(_engine, _id, prompt, model, onDelta: null, work.Stopped);
        if (result.Status != MessageStatuses.Completed)
        {
            var failure = result.Failure is { } failed
                ? new TurnFailed(failed.Error, failed.Detail + " Nothing was stored or charged.")
                : new TurnFailed(TurnError.Cancelled, "The request was cancelled before the turn was stored; nothing was charged.");
            if (result.Failure is not null)
            {
                _engine.Metrics.TurnFailed();
            }

            work.Emit(failure);
            return new TurnOutcome(AcceptStatus.Accepted, 0, failure);
        }

        var user = accept.UserMessage with { Status = MessageStatuses.Completed };
        var assistant = AssistantMessage(user, model, result);
        var committed = await _engine.Store.CommitTurnAsync(accept with { UserMessage = user }, assistant, CancellationToken.None);
        if (committed.Status == AcceptStatus.Accepted)
        {
            context.AppendTurn(user, assistant);
            _engine.Metrics.TurnCompleted();
            work.Emit(new UserMessageStored(user, committed.TokenBalance));
            work.Emit(new AssistantCompleted(assistant, committed.TokenBalance));
        }

        return new TurnOutcome(committed.Status, committed.TokenBalance, null);
    }

    /// <summary>The conversation's system prompt, else <c>Bot:SystemPrompt</c> (an empty one means none).</summary>
    private string? SystemPromptOf(ConversationContext context) => context.SystemPrompt ?? _engine.BotSettings.SystemPrompt;

    /// <summary>The assistant message that stores <paramref name="result"/> as the reply to <paramref name="user"/>.</summary>
    private StoredMessage AssistantMessage(StoredMessage user, ModelSpec model, ModelReply result) => new(
        Guid.CreateVersion7(), _id, user.Sequence + 1, MessageRoles.Assistant, result.Text, result.Status, null,
        _engine.Time.GetUtcNow().UtcDateTime, _engine.BotSettings.Tokens.Count(result.Text), model.Id, result.FinishReason, result.Usage);

    /// <summary>What an accept (or single-commit turn) came to; <paramref name="Failure"/> when the turn ended before committing.</summary>
    private readonly record struct TurnOutcome(AcceptStatus Status, long TokenBalance, TurnFailed? Failure);

    private async Task ReplayAsync(TurnWork work, TurnRequest request, StoredTurn turn)
    {
        if (turn.UserMessage.Content != request.Content)
        {
            work.Emit(new TurnFailed(TurnError.ClientMessageIdReused,
                "This clientMessageId was already used for a different message in this conversation."));
            return;
        }

        if (turn.AssistantMessage is null)
        {
            work.Emit(new TurnFailed(TurnError.Unavailable, "The original message with this clientMessageId is still being answered."));
            return;
        }

        var balance = await _engine.Store.GetBalanceAsync(request.UserId, CancellationToken.None) ?? 0;
        work.Emit(new UserMessageStored(turn.UserMessage, balance, Replayed: true));
        work.Emit(new AssistantCompleted(turn.AssistantMessage, balance));
        _engine.Metrics.Replayed();
    }

    private bool IsAbandoned(StoredMessage pending) =>
        _engine.Time.GetUtcNow().UtcDateTime - pending.CreatedAt > _engine.Options.TurnTimeout + PendingGrace;

    /// <summary>Finishes a turn whose user message was stored but whose reply was not (crash recovery).</summary>
    private Task SettlePendingAsync(ConversationContext context)
    {
        _engine.Metrics.Recovered();
        LogRecovering(_engine.Logger, _id, context.PendingMessage!.Sequence);
        return GenerateAndCompleteAsync(context, context.PendingMessage!, work: null, balance: null);
    }

    private async Task GenerateAndCompleteAsync(ConversationContext context, StoredMessage userMessage, TurnWork? work, long? balance)
    {
        var settings = _engine.BotSettings;
        var model = settings.Resolve(context.Model);
        var prompt = TurnPrompt.Build(SystemPromptOf(context), context.History(userMessage.Sequence), model, settings.Tokens);
        var result = prompt is null
            ? new ModelReply("", MessageStatuses.Failed, FinishReasons.Error, new TokenUsage(0, 0),
                new BotFailure(TurnError.InvalidContent, $"The message no longer fits the prompt budget of the model {model.Id}."))
            : await ReplyGenerator.GenerateAsync(_engine, _id, prompt, model,
                work is null ? null : text => work.Emit(new AssistantDelta(text)), work?.Stopped ?? CancellationToken.None);
        var failed = result.Status == MessageStatuses.Failed;
        var assistant = AssistantMessage(userMessage, model, result);

        // A failed turn gives back everything; PerToken keeps what the reply used (never more than it reserved).
        var charged = userMessage.Charge > 0 || settings.QuotaMode == QuotaMode.PerToken ? userMessage.Charge : _engine.Options.CostPerMessage;
        var refund = failed ? charged
            : settings.QuotaMode == QuotaMode.PerToken ? charged - Math.Min(charged, result.Usage.Total)
            : 0;
        var command = new CompleteTurn(context.UserId, context.Version, assistant, refund);

        for (var attempt = 1; ; attempt++)
        {
            CompleteOutcome outcome;
            try
            {
                outcome = await _engine.Store.CompleteAsync(command, CancellationToken.None);
            }
            catch (Exception ex) when (attempt < MaxCompleteAttempts)
            {
                LogCommitRetry(_engine.Logger, ex, _id, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), _engine.Time, CancellationToken.None);
                continue;
            }

            if (!outcome.Completed)
            {
                // Someone else settled this turn (it looked abandoned to them). Their reply stands.
                _engine.Metrics.Conflict();
                _context = null;
                work?.Emit(new TurnFailed(TurnError.Unavailable, "The reply was superseded; reload the conversation."));
                return;
            }

            context.Complete(assistant);
            if (failed)
            {
                _engine.Metrics.TurnFailed();
                work?.Emit(new TurnFailed(result.Failure!.Error, result.Failure.Detail + " The message was not charged.", outcome.TokenBalance));
            }
            else
            {
                _engine.Metrics.TurnCompleted();
                work?.Emit(new AssistantCompleted(assistant, outcome.TokenBalance ?? balance ?? 0));
                if (!context.HasTitle && settings.Titles is { } titles && result.Status == MessageStatuses.Completed)
                {
                    // The first reply of an untitled conversation (or the first to succeed): title it in the background.
                    context.MarkTitled();
                    titles.Schedule(_id, model.Id, userMessage.Content, assistant.Content);
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

/// <summary>What <see cref="ConversationActor.TryEnqueue"/> did with a turn.</summary>
internal enum EnqueueResult
{
    Enqueued,
    Full,
    Evicted,
}

/// <summary>A turn waiting in an actor's mailbox (or, with no request, an order to settle a pending turn), and the channel its events go to.</summary>
internal sealed class TurnWork
{
    private readonly Channel<TurnEvent> _events = Channel.CreateUnbounded<TurnEvent>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly CancellationTokenSource _stop;
    private readonly Lock _stopGate = new();
    private bool _finished;

    public TurnWork(TurnRequest? request, CancellationToken aborted, bool streaming = true)
    {
        Request = request;
        Aborted = aborted;
        Streaming = streaming;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
    }

    /// <summary>Cancelled when the client leaves (<see cref="Aborted"/>) or the user stops the turn (<see cref="RequestStop"/>).</summary>
    public CancellationToken Stopped => _stop.Token;

    /// <summary>Stops the turn's model call; false when the turn already finished.</summary>
    public bool RequestStop()
    {
        lock (_stopGate)
        {
            if (_finished)
            {
                return false;
            }

            _stop.Cancel();
            return true;
        }
    }

    public TurnRequest? Request { get; }

    /// <summary>The caller reads events as they come (SSE): store the user message before the bot runs.</summary>
    public bool Streaming { get; }

    public CancellationToken Aborted { get; }

    public ChannelReader<TurnEvent> Events => _events.Reader;

    public void Emit(TurnEvent turnEvent) => _events.Writer.TryWrite(turnEvent);

    public void Finish()
    {
        lock (_stopGate)
        {
            _finished = true;
            _stop.Dispose();
        }

        _events.Writer.TryComplete();
    }
}
