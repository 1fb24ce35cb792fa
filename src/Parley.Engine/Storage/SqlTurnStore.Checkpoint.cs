using static Parley.Engine.Storage.StoreSchema;

namespace Parley.Engine.Storage;

/// <summary>The checkpoint of a streaming reply (<see cref="ITurnStore.CheckpointAsync"/>).</summary>
public sealed partial class SqlTurnStore
{
    private const string CheckpointSql =
        $"UPDATE {Conversations} SET {ConversationColumns.PartialReply} = @p0 WHERE {ConversationColumns.Id} = @p1 AND {ConversationColumns.Version} = @p2";

    /// <inheritdoc />
    /// <remarks>
    /// One operation of the group-commit writer, so checkpoints share transactions with the turns' commits. It updates
    /// the conversation row only at the expected version: a checkpoint that reaches the database after the reply's commit (or after
    /// another node settled the turn) writes nothing, and the reply's commit clears it.
    /// </remarks>
    public Task<bool> CheckpointAsync(TurnCheckpoint command, CancellationToken cancellationToken)
    {
        var conversationId = _dialect.Id(command.ConversationId);
        return _writer.WriteAsync(command.UserId, readsBalance: false, async (session, ct) =>
            await session.ExecuteAsync(CheckpointSql, ct, command.PartialReply, conversationId, command.ExpectedVersion) > 0,
            cancellationToken);
    }
}
