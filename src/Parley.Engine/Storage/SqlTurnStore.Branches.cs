using System.Data.Common;

namespace Parley.Engine.Storage;

/// <summary>The reads of a conversation's tree of messages: a branch (a path of parents) and a stored turn by its key.</summary>
public sealed partial class SqlTurnStore
{
    // A message and its ancestors, parent by parent, at most @p2 of them; then their rows up to sequence @p3, oldest first.
    // Recursive CTEs are standard SQL (SQLite 3.8.3+, PostgreSQL); each step is a primary-key lookup.
    private const string PathQuery =
        "WITH RECURSIVE branch(\"Id\", \"ParentId\", \"Depth\") AS (" +
        "SELECT \"Id\", \"ParentId\", 1 FROM \"Messages\" WHERE \"ConversationId\" = @p0 AND \"Id\" = @p1 " +
        "UNION ALL SELECT m.\"Id\", m.\"ParentId\", b.\"Depth\" + 1 FROM \"Messages\" m JOIN branch b ON m.\"Id\" = b.\"ParentId\" WHERE b.\"Depth\" < @p2) " +
        "SELECT " + MessageColumns + " FROM \"Messages\" WHERE \"ConversationId\" = @p0 AND \"Id\" IN (SELECT \"Id\" FROM branch) AND \"Sequence\" <= @p3 " +
        "ORDER BY \"Sequence\"";

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
        await using (var command = Command(connection,
            "SELECT " + MessageColumns + " FROM \"Messages\" WHERE \"ConversationId\" = @p0 AND \"ClientMessageId\" = @p1",
            _dialect.Id(conversationId), clientMessageId))
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
            await using var parent = Command(connection, "SELECT " + MessageColumns + " FROM \"Messages\" WHERE \"ConversationId\" = @p0 AND \"Id\" = @p1",
                _dialect.Id(conversationId), keyed.ParentId is { } parentId ? _dialect.Id(parentId) : null);
            return await ReadOneAsync(parent, cancellationToken) is { } user ? new StoredTurn(user, keyed) : null;
        }

        // A turn's reply is stored right after its user message.
        await using var reply = Command(connection, "SELECT " + MessageColumns + " FROM \"Messages\" WHERE \"ConversationId\" = @p0 AND \"Sequence\" = @p1",
            _dialect.Id(conversationId), keyed.Sequence + 1);
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
