using System.Data.Common;
using Microsoft.Extensions.Logging;
using static Parley.Engine.Storage.StoreSchema;

namespace Parley.Engine.Storage;

/// <summary>
/// <see cref="ITurnStore"/> over ADO.NET, for SQLite and PostgreSQL. Reads use pooled connections of the data source;
/// every write goes through a <see cref="GroupCommitWriter"/> so concurrent turns share transactions — one writer, or
/// several that commit at once, each write routed by its user (<see cref="PartitionedWriter"/>).
/// </summary>
/// <remarks>
/// The schema is the server's EF Core model (<see cref="StoreSchema"/> names its tables and columns); its migrations
/// create it. Every commit carries <c>WHERE "Version" = expected</c> (optimistic concurrency), and a charge is checked
/// against the balance read in the writer's transaction, whose single <c>UPDATE … RETURNING</c> per user proves nobody
/// else changed it, so both stay correct when several nodes write. Every balance change (charge, refund) appends its
/// ledger row (<c>TokenTransactions</c>) in the same operation, so in the same group-commit transaction.
/// </remarks>
public sealed partial class SqlTurnStore : ITurnStore, IAsyncDisposable
{
    // ReadMessage reads MessageColumns.All by position; NodeId (8) only where the pending node matters.
    private const string SelectConversation =
        $"SELECT {ConversationColumns.UserId}, {ConversationColumns.Version}, {ConversationColumns.LastSequence}, {ConversationColumns.Title}, " +
        $"{ConversationColumns.Model}, {ConversationColumns.SystemPrompt}, {ConversationColumns.CurrentMessageId}, {ConversationColumns.PartialReply}, " +
        $"{ConversationColumns.UseDocuments} " +
        $"FROM {Conversations} WHERE {ConversationColumns.Id} = @p0";

    private const string SelectMessageAtSequence =
        $"SELECT {MessageColumns.All} FROM {Messages} WHERE {MessageColumns.ConversationId} = @p0 AND {MessageColumns.Sequence} = @p1";

    private const string SelectBalance = $"SELECT {UserColumns.TokenBalance} FROM {Users} WHERE {UserColumns.Id} = @p0";

    private const string SelectPendingConversations =
        $"SELECT DISTINCT {MessageColumns.ConversationId} FROM {Messages} WHERE {MessageColumns.Status} = 'pending' AND {MessageColumns.NodeId} = @p0";

    private readonly DbDataSource _dataSource;
    private readonly SqlDialect _dialect;
    private readonly PartitionedWriter _writer;

    /// <summary>Creates the store and starts its writers.</summary>
    /// <param name="dataSource">Connections to the database (pooled); each writer holds one.</param>
    /// <param name="dialect">The database's <see cref="SqlDialect"/>.</param>
    /// <param name="maxCommitBatch">Most operations per group commit, per writer.</param>
    /// <param name="logger">Logs failed commits.</param>
    /// <param name="metrics">Records each group commit's size and duration; none when null.</param>
    /// <param name="commitWriters"><see cref="EngineOptions.CommitWriters"/>: 0 (the default) for the dialect's
    /// <see cref="SqlDialect.DefaultCommitWriters"/>, else 1 to its <see cref="SqlDialect.MaxCommitWriters"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="commitWriters"/> is out of the dialect's range.</exception>
    public SqlTurnStore(DbDataSource dataSource, SqlDialect dialect, int maxCommitBatch, ILogger<SqlTurnStore> logger, EngineMetrics? metrics = null, int commitWriters = 0)
    {
        _dataSource = dataSource;
        _dialect = dialect;
        _writer = new PartitionedWriter(dataSource, dialect, dialect.CommitWriters(commitWriters), maxCommitBatch, logger, metrics);
    }

    /// <summary>Group-commit writers this store runs (1 or more).</summary>
    public int CommitWriters => _writer.Writers.Count;

    /// <summary>Transactions committed by the writers since start.</summary>
    public long CommitBatches => _writer.Batches;

    /// <summary>Operations (turn halves) committed by the writers since start.</summary>
    public long CommitOperations => _writer.Operations;

    /// <summary>Time the writers spent executing batches since start, summed over the writers (so up to
    /// <see cref="CommitWriters"/> × the wall-clock time).</summary>
    public TimeSpan CommitBusyTime => _writer.BusyTime;

    /// <summary>The writer (0 to <see cref="CommitWriters"/> − 1) that commits every write of <paramref name="userId"/>.</summary>
    public int CommitWriterOf(Guid userId) => PartitionedWriter.PartitionOf(userId, CommitWriters);

    /// <inheritdoc />
    public async Task<ConversationSnapshot?> LoadAsync(Guid conversationId, int maxMessages, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        Guid userId;
        long version, lastSequence;
        string? title, model, systemPrompt, partialReply;
        Guid? current;
        bool useDocuments;
        await using (var command = Command(connection, SelectConversation, _dialect.Id(conversationId)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            userId = reader.GetGuid(0);
            version = reader.GetInt64(1);
            lastSequence = reader.GetInt64(2);
            title = reader.IsDBNull(3) ? null : reader.GetString(3);
            model = reader.IsDBNull(4) ? null : reader.GetString(4);
            systemPrompt = reader.IsDBNull(5) ? null : reader.GetString(5);
            current = reader.IsDBNull(6) ? null : reader.GetGuid(6);
            partialReply = reader.IsDBNull(7) ? null : reader.GetString(7);
            useDocuments = reader.GetBoolean(8);
        }

        // The newest message: a user message there is a pending turn, and the branch to load is its own.
        string? pendingNode = null;
        Guid? leaf = current;
        await using (var command = Command(connection, SelectMessageAtSequence, _dialect.Id(conversationId), lastSequence))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken) && reader.GetString(3) == MessageRoles.User)
            {
                pendingNode = reader.IsDBNull(8) ? "" : reader.GetString(8);
                leaf = reader.GetGuid(0);
            }
        }

        // Messages up to the snapshot's LastSequence only: later ones belong to a version newer than the one read.
        var messages = leaf is { } id ? await ReadPathAsync(connection, conversationId, id, maxMessages, lastSequence, cancellationToken) : [];
        return new ConversationSnapshot(userId, version, lastSequence, title, messages, pendingNode, model, systemPrompt,
            pendingNode is null ? null : partialReply, current, useDocuments);
    }

    /// <inheritdoc />
    public async Task<long?> GetBalanceAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, SelectBalance, _dialect.Id(userId));
        return await command.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? Convert.ToInt64(value, null) : null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Guid>> FindPendingConversationsAsync(string nodeId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, SelectPendingConversations, nodeId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new List<Guid>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    private static StoredMessage ReadMessage(DbDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetGuid(1),
        reader.GetInt64(2),
        reader.GetString(3) == MessageRoles.User ? MessageRoles.User : MessageRoles.Assistant,
        reader.GetString(4),
        string.Intern(reader.GetString(5)),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        DateTime.SpecifyKind(reader.GetDateTime(7), DateTimeKind.Utc),
        reader.GetInt32(9),
        reader.IsDBNull(10) ? null : reader.GetString(10),
        reader.IsDBNull(11) ? null : string.Intern(reader.GetString(11)),
        reader.IsDBNull(12) ? null : new Bots.TokenUsage(reader.GetInt32(12), reader.IsDBNull(13) ? 0 : reader.GetInt32(13)),
        reader.GetInt64(14),
        reader.IsDBNull(15) ? null : reader.GetGuid(15),
        reader.IsDBNull(16) ? null : Bots.MessageSource.FromJson(reader.GetString(16)));

    private static DbCommand Command(DbConnection connection, string sql, params ReadOnlySpan<object?> values)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@p" + i;
            parameter.Value = values[i] ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>Stops the writers after they committed what was queued.</summary>
    public ValueTask DisposeAsync() => _writer.DisposeAsync();
}
