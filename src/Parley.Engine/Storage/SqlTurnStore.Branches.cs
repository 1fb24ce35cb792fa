using System.Data.Common;
using static Parley.Engine.Storage.StoreSchema;

namespace Parley.Engine.Storage;

/// <summary>The reads of a conversation's tree of messages: a branch (a path of parents) and a stored turn by its key.</summary>
public sealed partial class SqlTurnStore
{
    // A message and its ancestors, parent by parent, at most @p2 of them; then their rows up to sequence @p3, oldest first.
    // Recursive CTEs are standard SQL (SQLite 3.8.3+, PostgreSQL); each step is a primary-key lookup.
    private const string PathQuery =
        $"WITH RECURSIVE branch({MessageColumns.Id}, {MessageColumns.ParentId}, \"Depth\") AS (" +
        $"SELECT {MessageColumns.Id}, {MessageColumns.ParentId}, 1 FROM {Messages} WHERE {MessageColumns.ConversationId} = @p0 AND {MessageColumns.Id} = @p1 " +
        $"UNION ALL SELECT m.{MessageColumns.Id}, m.{MessageColumns.ParentId}, b.\"Depth\" + 1 FROM {Messages} m JOIN branch b ON m.{MessageColumns.Id} = b.{MessageColumns.ParentId} " +
        $"WHERE b.\"Depth\" < @p2) " +
        $"SELECT {MessageColumns.All} FROM {Messages} WHERE {MessageColumns.ConversationId} = @p0 AND {MessageColumns.Id} IN (SELECT {MessageColumns.Id} FROM branch) " +
        $"AND {MessageColumns.Sequence} <= @p3 ORDER BY {MessageColumns.Sequence}";

    private const string SelectByClientMessageId =
        $"SELECT {MessageColumns.All} FROM {Messages} WHERE {MessageColumns.ConversationId} = @p0 AND {MessageColumns.ClientMessageId} = @p1";

    private const string SelectById = $"SELECT {MessageColumns.All} FROM {Messages} WHERE {MessageColumns.ConversationId} = @p0 AND {MessageColumns.Id} = @p1";

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredMessage>> LoadPathAsync(Guid conversationId, Guid leafId, int maxMessages, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await ReadPathAsync(connection, conversationId, leafId, maxMessages, long.MaxValue, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<StoredTurn?> FindTurnAsync(Guid conversationId, string clientMessageId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        StoredMessage? keyed;
        await using (var command = Command(connection, SelectByClientMessageId, _dialect.Id(conversationId), clientMessageId))
        {
            keyed = await ReadOneAsync(command, cancellationToken);
        }

        if (keyed is null)
        {
            return null;
        }

        if (keyed.Role == MessageRoles.Assistant)
        {
            // A regenerate's key: the reply and the user message it answers.
            await using var parent = Command(connection, SelectById,
                _dialect.Id(conversationId), keyed.ParentId is { } parentId ? _dialect.Id(parentId) : null);
            return await ReadOneAsync(parent, cancellationToken) is { } user ? new StoredTurn(user, keyed) : null;
        }

        // A turn's reply is stored right after its user message.
        await using var reply = Command(connection, SelectMessageAtSequence, _dialect.Id(conversationId), keyed.Sequence + 1);
        return new StoredTurn(keyed, await ReadOneAsync(reply, cancellationToken));
    }

    private async Task<List<StoredMessage>> ReadPathAsync(
        DbConnection connection, Guid conversationId, Guid leafId, int maxMessages, long maxSequence, CancellationToken cancellationToken)
    {
        var messages = new List<StoredMessage>();
        await using var command = Command(connection, PathQuery, _dialect.Id(conversationId), _dialect.Id(leafId), maxMessages, maxSequence);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            messages.Add(ReadMessage(reader));
        }

        return messages;
    }

    private static async Task<StoredMessage?> ReadOneAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadMessage(reader) : null;
    }
}
