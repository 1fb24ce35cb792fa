using static Parley.Engine.Storage.StoreSchema;

namespace Parley.Engine.Storage;

/// <summary>The store's commits, each an operation of the group-commit writer's next batch.</summary>
/// <remarks>
/// An operation checks before it writes: the balance against the one read at the start of the batch's transaction
/// (<see cref="BalanceLedger"/>, less what earlier operations of the batch hold), then the conversation's version and
/// the client message id in the <c>UPDATE</c> itself. A rejected operation has written nothing. Its messages and its balance change are left to the
/// batch's end (<see cref="WriterSession.FlushAsync"/>): one multi-row <c>INSERT</c>, one <c>UPDATE</c> per user.
/// </remarks>
public sealed partial class SqlTurnStore
{
    private const string DuplicateClientMessageId =
        $"SELECT 1 FROM {Messages} WHERE {MessageColumns.ConversationId} = @p0 AND {MessageColumns.ClientMessageId} = @p1";

    private const string AdvanceOwnedConversation =
        $"UPDATE {Conversations} SET {ConversationColumns.Version} = @p0, {ConversationColumns.LastSequence} = @p1, {ConversationColumns.UpdatedAt} = @p2, " +
        $"{ConversationColumns.Title} = COALESCE({ConversationColumns.Title}, @p3) " +
        $"WHERE {ConversationColumns.Id} = @p4 AND {ConversationColumns.Version} = @p5 AND {ConversationColumns.UserId} = @p6";

    // The same, unless the client message id is already stored (one statement for both checks; 0 rows: find out which).
    private const string AdvanceOwnedConversationOnce = AdvanceOwnedConversation +
        $" AND NOT EXISTS (SELECT 1 FROM {Messages} WHERE {MessageColumns.ConversationId} = @p4 AND {MessageColumns.ClientMessageId} = @p7)";

    private const string SelectOwnedVersion =
        $"SELECT {ConversationColumns.Version} FROM {Conversations} WHERE {ConversationColumns.Id} = @p0 AND {ConversationColumns.UserId} = @p1";

    private const string AdvanceConversation =
        $"UPDATE {Conversations} SET {ConversationColumns.Version} = @p0, {ConversationColumns.LastSequence} = @p1, {ConversationColumns.UpdatedAt} = @p2 " +
        $"WHERE {ConversationColumns.Id} = @p3 AND {ConversationColumns.Version} = @p4";

    private const string SettleUserMessage =
        $"UPDATE {Messages} SET {MessageColumns.Status} = @p0, {MessageColumns.NodeId} = NULL, " +
        $"{MessageColumns.Charge} = CASE WHEN {MessageColumns.Charge} > @p3 THEN {MessageColumns.Charge} - @p3 ELSE 0 END " +
        $"WHERE {MessageColumns.ConversationId} = @p1 AND {MessageColumns.Sequence} = @p2";

    /// <inheritdoc />
    public Task<AcceptOutcome> AcceptAsync(AcceptTurn command, CancellationToken cancellationToken) =>
        WriteAcceptAsync(command, null, cancellationToken);

    /// <inheritdoc />
    public Task<AcceptOutcome> CommitTurnAsync(AcceptTurn command, StoredMessage assistantMessage, CancellationToken cancellationToken) =>
        WriteAcceptAsync(command, assistantMessage, cancellationToken);

    private async Task<AcceptOutcome> WriteAcceptAsync(AcceptTurn command, StoredMessage? reply, CancellationToken cancellationToken)
    {
        var message = command.UserMessage;
        try
        {
            return await _writer.WriteAsync(command.UserId, readsBalance: true, async (session, ct) =>
            {
                // The batch read (and on PostgreSQL locked) the user's balance before any operation ran.
                var conversationId = _dialect.Id(message.ConversationId);
                var userId = _dialect.Id(command.UserId);
                var ledger = session.Ledger;
                if (!ledger.TryReserve(command.UserId, command.Cost))
                {
                    if (ledger.Balance(command.UserId) is not null && ledger.HasReservations(command.UserId))
                    {
                        // Other operations of this batch hold the user's tokens and may yet fail: retry on the next batch.
                        return new AcceptOutcome(AcceptStatus.VersionConflict, 0);
                    }

                    // Refused either way; a moved version wins (the caller reloads and retries, then sees the balance).
                    var version = await session.ScalarAsync(SelectOwnedVersion, ct, conversationId, userId);
                    return new AcceptOutcome(version is null or DBNull || Convert.ToInt64(version, null) != command.ExpectedVersion
                        ? AcceptStatus.VersionConflict
                        : AcceptStatus.InsufficientBalance, 0);
                }

                var moved = message.ClientMessageId is null
                    ? await session.ExecuteAsync(AdvanceOwnedConversation, ct,
                        command.ExpectedVersion + 1, reply?.Sequence ?? message.Sequence, (reply ?? message).CreatedAt, command.AutoTitle,
                        conversationId, command.ExpectedVersion, userId)
                    : await session.ExecuteAsync(AdvanceOwnedConversationOnce, ct,
                        command.ExpectedVersion + 1, reply?.Sequence ?? message.Sequence, (reply ?? message).CreatedAt, command.AutoTitle,
                        conversationId, command.ExpectedVersion, userId, message.ClientMessageId);
                if (moved == 0)
                {
                    ledger.Settle(command.UserId, command.Cost, charge: false);
                    return new AcceptOutcome(message.ClientMessageId is not null
                        && await session.ScalarAsync(DuplicateClientMessageId, ct, conversationId, message.ClientMessageId) is not null
                            ? AcceptStatus.DuplicateClientMessageId
                            : AcceptStatus.VersionConflict, 0);
                }

                // Nothing can reject the operation from here on: its charge and messages join the batch's flush.
                session.Insert(message, reply is null ? command.NodeId : null);
                if (reply is not null)
                {
                    session.Insert(reply, null);
                }

                return new AcceptOutcome(AcceptStatus.Accepted, ledger.Settle(command.UserId, command.Cost, charge: true));
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
                command.ExpectedVersion + 1, reply.Sequence, reply.CreatedAt, conversationId, command.ExpectedVersion);
            if (moved == 0)
            {
                return new CompleteOutcome(false, null);
            }

            await session.ExecuteAsync(SettleUserMessage, ct, reply.Status, conversationId, reply.Sequence - 1, command.Refund);
            session.Insert(reply, null);
            // A refund's user was read (and on PostgreSQL locked) with the batch's balances, before any operation ran.
            long? balance = command.Refund > 0 && session.Ledger.Balance(command.UserId) is not null
                ? session.Ledger.Refund(command.UserId, command.Refund)
                : null;
            return new CompleteOutcome(true, balance);
        }, cancellationToken);
    }
}
