namespace Parley.Engine.Storage;

/// <summary>The checkpoint of a streaming reply (<see cref="ITurnStore.CheckpointAsync"/>).</summary>
public sealed partial class SqlTurnStore
{
    /// <inheritdoc />
    /// <remarks>
    /// One operation of the group-commit writer, so checkpoints share transactions with the turns' commits. It locks the
    /// user's row first where the dialect locks rows (the order every operation follows), then updates the conversation
    /// row only at the expected version: a checkpoint that reaches the database after the reply's commit (or after
    /// another node settled the turn) writes nothing, and the reply's commit clears it.
    /// </remarks>
    public Task<bool> CheckpointAsync(TurnCheckpoint command, CancellationToken cancellationToken)
    {
        var conversationId = _dialect.Id(command.ConversationId);
        return _writer.WriteAsync(command.UserId, async (session, ct) =>
        {
            if (_dialect.LockUserSql is { } lockUser)
            {
                await session.ExecuteAsync(lockUser, ct, _dialect.Id(command.UserId));
            }

            var written = await session.ExecuteAsync(
                "UPDATE \"Conversations\" SET \"PartialReply\" = @p0 WHERE \"Id\" = @p1 AND \"Version\" = @p2",
                ct, command.PartialReply, conversationId, command.ExpectedVersion);
            return (written > 0, written > 0);
        }, cancellationToken);
    }
}
