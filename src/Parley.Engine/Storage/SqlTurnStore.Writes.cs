using static Parley.Engine.Storage.StoreSchema;

namespace Parley.Engine.Storage;

/// <summary>The store's commits, each an operation of the group-commit writer's next batch.</summary>
/// <remarks>
/// An operation checks before it writes: the balance against the one read at the start of the batch's transaction
/// (<see cref="BalanceLedger"/>, less what earlier operations of the batch hold), then the conversation's version and
/// the client message id in the <c>UPDATE</c> itself. A rejected operation has written nothing. Its messages and its balance change are left to the
/// batch's end (<see cref="WriterSession.FlushAsync"/>): one multi-row <c>INSERT</c>, one <c>UPDATE</c> per user, and
/// the statements whose outcome it does not read (its ledger row, the settled user message) with them.
/// </remarks>
public sealed partial class SqlTurnStore
{
    private const string DuplicateClientMessageId =
        $"SELECT 1 FROM {Messages} WHERE {MessageColumns.ConversationId} = @p0 AND {MessageColumns.ClientMessageId} = @p1";

    private const string AdvanceOwnedConversation =
        $"UPDATE {Conversations} SET {ConversationColumns.Version} = @p0, {ConversationColumns.LastSequence} = @p1, {ConversationColumns.UpdatedAt} = @p2, " +
        $"{ConversationColumns.Title} = COALESCE({ConversationColumns.Title}, @p3), {ConversationColumns.CurrentMessageId} = @p7 " +
        $"WHERE {ConversationColumns.Id} = @p4 AND {ConversationColumns.Version} = @p5 AND {ConversationColumns.UserId} = @p6";

    // The same, unless the client message id is already stored (one statement for both checks; 0 rows: find out which).
    private const string AdvanceOwnedConversationOnce = AdvanceOwnedConversation +
        $" AND NOT EXISTS (SELECT 1 FROM {Messages} WHERE {MessageColumns.ConversationId} = @p4 AND {MessageColumns.ClientMessageId} = @p8)";

    private const string SelectOwnedVersion =
        $"SELECT {ConversationColumns.Version} FROM {Conversations} WHERE {ConversationColumns.Id} = @p0 AND {ConversationColumns.UserId} = @p1";

    private const string AdvanceConversation =
        $"UPDATE {Conversations} SET {ConversationColumns.Version} = @p0, {ConversationColumns.LastSequence} = @p1, {ConversationColumns.UpdatedAt} = @p2, " +
        $"{ConversationColumns.CurrentMessageId} = @p5, {ConversationColumns.PartialReply} = NULL " +
        $"WHERE {ConversationColumns.Id} = @p3 AND {ConversationColumns.Version} = @p4";

    // The token ledger: one row per balance change, inserted by the same operation (so the same transaction) as the change.
    private const string InsertLedgerEntry =
        $"INSERT INTO {TokenTransactions} ({TokenTransactionColumns.Id}, {TokenTransactionColumns.UserId}, {TokenTransactionColumns.Kind}, " +
        $"{TokenTransactionColumns.Amount}, {TokenTransactionColumns.BalanceAfter}, {TokenTransactionColumns.MessageId}, {TokenTransactionColumns.CreatedAt}) " +
        "VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6)";

    private const string SettleUserMessage =
        $"UPDATE {Messages} SET {MessageColumns.Status} = @p0, {MessageColumns.NodeId} = NULL, " +
        $"{MessageColumns.Charge} = CASE WHEN {MessageColumns.Charge} > @p3 THEN {MessageColumns.Charge} - @p3 ELSE 0 END " +
        $"WHERE {MessageColumns.ConversationId} = @p1 AND {MessageColumns.Sequence} = @p2";

    /// <inheritdoc />
    public Task<AcceptOutcome> AcceptAsync(AcceptTurn command, CancellationToken cancellationToken) =>
        WriteAcceptAsync(command.UserId, command.ExpectedVersion, command.Cost, command.AutoTitle, command.UserMessage, null, command.NodeId, cancellationToken);

    /// <inheritdoc />
    public Task<AcceptOutcome> CommitTurnAsync(AcceptTurn command, StoredMessage assistantMessage, CancellationToken cancellationToken) =>
        WriteAcceptAsync(command.UserId, command.ExpectedVersion, command.Cost, command.AutoTitle, command.UserMessage, assistantMessage, null, cancellationToken);

    /// <inheritdoc />
    public Task<AcceptOutcome> CommitRegeneratedAsync(RegenerateTurn command, CancellationToken cancellationToken) =>
        WriteAcceptAsync(command.UserId, command.ExpectedVersion, command.Cost, null, null, command.AssistantMessage, null, cancellationToken);

    /// <summary>Charges the user and stores a user message (pending when <paramref name="reply"/> is null), its reply, or both.</summary>
    private async Task<AcceptOutcome> WriteAcceptAsync(
        Guid user, long expectedVersion, long cost, string? autoTitle, StoredMessage? message, StoredMessage? reply, string? nodeId, CancellationToken cancellationToken)
    {
        var last = reply ?? message!;
        var charged = message ?? reply!;
        var key = charged.ClientMessageId;
        try
        {
            return await _writer.WriteAsync(user, readsBalance: true, async (session, ct) =>
            {
                // The batch read the user's balance before any operation ran.
                var conversationId = _dialect.Id(last.ConversationId);
                var userId = _dialect.Id(user);
                var ledger = session.Ledger;
                if (!ledger.TryReserve(user, cost))
                {
                    if (ledger.Balance(user) is not null && ledger.HasReservations(user))
                    {
                        // Other operations of this batch hold the user's tokens and may yet fail: retry on the next batch.
                        return new AcceptOutcome(AcceptStatus.VersionConflict, 0);
                    }

                    // Refused either way; a moved version wins (the caller reloads and retries, then sees the balance).
                    var version = await session.ScalarAsync(SelectOwnedVersion, ct, conversationId, userId);
                    return new AcceptOutcome(version is null or DBNull || Convert.ToInt64(version, null) != expectedVersion
                        ? AcceptStatus.VersionConflict
                        : AcceptStatus.InsufficientBalance, 0);
                }

                var moved = key is null
                    ? await session.ExecuteAsync(AdvanceOwnedConversation, ct,
                        expectedVersion + 1, last.Sequence, last.CreatedAt, autoTitle, conversationId, expectedVersion, userId, _dialect.Id(last.Id))
                    : await session.ExecuteAsync(AdvanceOwnedConversationOnce, ct,
                        expectedVersion + 1, last.Sequence, last.CreatedAt, autoTitle, conversationId, expectedVersion, userId, _dialect.Id(last.Id), key);
                if (moved == 0)
                {
                    ledger.Settle(user, cost, charge: false);
                    return new AcceptOutcome(key is not null
                        && await session.ScalarAsync(DuplicateClientMessageId, ct, conversationId, key) is not null
                            ? AcceptStatus.DuplicateClientMessageId
                            : AcceptStatus.VersionConflict, 0);
                }

                // Nothing can reject the operation from here on: its charge and messages join the batch's flush.
                if (message is not null)
                {
                    session.Insert(message, reply is null ? nodeId : null);
                }

                if (reply is not null)
                {
                    session.Insert(reply, null);
                }

                var balance = ledger.Settle(user, cost, charge: true);
                if (cost > 0)
                {
                    session.Defer(InsertLedgerEntry,
                        _dialect.Id(Guid.CreateVersion7()), userId, "message", -cost, balance, _dialect.Id(charged.Id), charged.CreatedAt);
                }

                return new AcceptOutcome(AcceptStatus.Accepted, balance);
            }, cancellationToken);
        }
        catch (UniqueViolationException)
        {
            return new AcceptOutcome(AcceptStatus.DuplicateClientMessageId, 0);
        }
    }

    /// <inheritdoc />
    public Task<CompleteOutcome> CompleteAsync(CompleteTurn command, CancellationToken cancellationToken)
    {
        var reply = command.AssistantMessage;
        return _writer.WriteAsync(command.UserId, readsBalance: command.Refund > 0, async (session, ct) =>
        {
            var conversationId = _dialect.Id(reply.ConversationId);
            var moved = await session.ExecuteAsync(AdvanceConversation, ct,
                command.ExpectedVersion + 1, reply.Sequence, reply.CreatedAt, conversationId, command.ExpectedVersion, _dialect.Id(reply.Id));
            if (moved == 0)
            {
                return new CompleteOutcome(false, null);
            }

            session.Defer(SettleUserMessage, reply.Status, conversationId, reply.Sequence - 1, command.Refund);
            session.Insert(reply, null);
            // A refund's user was read (and on PostgreSQL locked) with the batch's balances, before any operation ran.
            long? balance = command.Refund > 0 && session.Ledger.Balance(command.UserId) is not null
                ? session.Ledger.Refund(command.UserId, command.Refund)
                : null;
            if (balance is not null)
            {
                session.Defer(InsertLedgerEntry,
                    _dialect.Id(Guid.CreateVersion7()), _dialect.Id(command.UserId), "refund", command.Refund, balance,
                    _dialect.Id(command.UserMessageId ?? reply.Id), reply.CreatedAt);
            }

            return new CompleteOutcome(true, balance);
        }, cancellationToken);
    }
}
