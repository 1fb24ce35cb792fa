using System.Data.Common;
using Microsoft.Extensions.Logging;

namespace Parley.Engine.Storage;

/// <summary>
/// <see cref="ITurnStore"/> over ADO.NET, for SQLite and PostgreSQL. Reads use pooled connections of the data source;
/// every write goes through one <see cref="GroupCommitWriter"/> so concurrent turns share transactions.
/// </summary>
/// <remarks>
/// The schema is the server's EF Core model (tables <c>Conversations</c>, <c>Messages</c>, <c>AspNetUsers</c>,
/// <c>TokenTransactions</c>); its migrations create it. Every balance change (charge, refund) appends its ledger row in
/// the same operation, so in the same group-commit transaction. Every commit carries <c>WHERE "Version" = expected</c> (optimistic concurrency) and the
/// balance deduction carries <c>WHERE "TokenBalance" &gt;= cost</c>, so both stay correct when several nodes write.
/// </remarks>
public sealed partial class SqlTurnStore : ITurnStore, IAsyncDisposable
{
    // ReadMessage reads these by position; NodeId (8) only where the pending node matters.
    private const string MessageColumns =
        "\"Id\", \"ConversationId\", \"Sequence\", \"Role\", \"Content\", \"Status\", \"ClientMessageId\", \"CreatedAt\", \"NodeId\", " +
        "\"TokenCount\", \"Model\", \"FinishReason\", \"PromptTokens\", \"CompletionTokens\", \"Charge\", \"ParentId\"";

    private const string InsertMessage =
        "INSERT INTO \"Messages\" (" + MessageColumns + ") VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12, @p13, @p14, @p15)";

    // The token ledger: one row per balance change, inserted by the same operation (so the same transaction) as the change.
    private const string InsertLedgerEntry =
        "INSERT INTO \"TokenTransactions\" (\"Id\", \"UserId\", \"Kind\", \"Amount\", \"BalanceAfter\", \"MessageId\", \"CreatedAt\") " +
        "VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6)";

    private readonly DbDataSource _dataSource;
    private readonly SqlDialect _dialect;
    private readonly GroupCommitWriter _writer;

    /// <summary>Creates the store and starts its writer.</summary>
    /// <param name="dataSource">Connections to the database (pooled).</param>
    /// <param name="dialect">The database's <see cref="SqlDialect"/>.</param>
    /// <param name="maxCommitBatch">Most operations per group commit.</param>
    /// <param name="logger">Logs failed commits.</param>
    public SqlTurnStore(DbDataSource dataSource, SqlDialect dialect, int maxCommitBatch, ILogger<SqlTurnStore> logger)
    {
        _dataSource = dataSource;
        _dialect = dialect;
        _writer = new GroupCommitWriter(dataSource, dialect, maxCommitBatch, logger);
    }

    /// <summary>Transactions committed by the writer since start.</summary>
    public long CommitBatches => _writer.Batches;

    /// <summary>Operations (turn halves) committed by the writer since start.</summary>
    public long CommitOperations => _writer.Operations;

    /// <summary>Time the writer spent executing batches since start.</summary>
    public TimeSpan CommitBusyTime => _writer.BusyTime;

    /// <inheritdoc />
    public async Task<ConversationSnapshot?> LoadAsync(Guid conversationId, int maxMessages, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        Guid userId;
        long version, lastSequence;
        string? title, model, systemPrompt, partialReply;
        Guid? current;
        await using (var command = Command(connection,
            "SELECT \"UserId\", \"Version\", \"LastSequence\", \"Title\", \"Model\", \"SystemPrompt\", \"CurrentMessageId\", \"PartialReply\" FROM \"Conversations\" WHERE \"Id\" = @p0",
            _dialect.Id(conversationId)))
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
        }

        // The newest message: a user message there is a pending turn, and the branch to load is its own.
        string? pendingNode = null;
        Guid? leaf = current;
        await using (var command = Command(connection,
            "SELECT " + MessageColumns + " FROM \"Messages\" WHERE \"ConversationId\" = @p0 AND \"Sequence\" = @p1",
            _dialect.Id(conversationId), lastSequence))
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
            pendingNode is null ? null : partialReply, current);
    }

    /// <inheritdoc />
    public async Task<long?> GetBalanceAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection, "SELECT \"TokenBalance\" FROM \"AspNetUsers\" WHERE \"Id\" = @p0", _dialect.Id(userId));
        return await command.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? Convert.ToInt64(value, null) : null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Guid>> FindPendingConversationsAsync(string nodeId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = Command(connection,
            "SELECT DISTINCT \"ConversationId\" FROM \"Messages\" WHERE \"Status\" = 'pending' AND \"NodeId\" = @p0", nodeId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new List<Guid>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

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
        var key = (message ?? reply!).ClientMessageId;
        var conversationId = _dialect.Id(last.ConversationId);
        var userId = _dialect.Id(user);
        try
        {
            return await _writer.WriteAsync(user, async (session, ct) =>
            {
                if (_dialect.LockUserSql is { } lockUser)
                {
                    // The user's row first, then the conversation's: the same order in every batch of every node.
                    await session.ExecuteAsync(lockUser, ct, userId);
                }

                // Checks first, writes after: an op rejected here has written nothing (SQLite runs without savepoints).
                if (key is not null && await session.ScalarAsync(
                        "SELECT 1 FROM \"Messages\" WHERE \"ConversationId\" = @p0 AND \"ClientMessageId\" = @p1",
                        ct, conversationId, key) is not null)
                {
                    return (false, new AcceptOutcome(AcceptStatus.DuplicateClientMessageId, 0));
                }

                var moved = await session.ExecuteAsync(
                    "UPDATE \"Conversations\" SET \"Version\" = @p0, \"LastSequence\" = @p1, \"UpdatedAt\" = @p2, \"Title\" = COALESCE(\"Title\", @p3), " +
                    "\"CurrentMessageId\" = @p8 WHERE \"Id\" = @p4 AND \"Version\" = @p5 AND \"UserId\" = @p6 " +
                    "AND (SELECT \"TokenBalance\" FROM \"AspNetUsers\" WHERE \"Id\" = @p6) >= @p7",
                    ct,
                    expectedVersion + 1, last.Sequence, last.CreatedAt, autoTitle,
                    conversationId, expectedVersion, userId, cost, _dialect.Id(last.Id));
                if (moved == 0)
                {
                    var version = await session.ScalarAsync(
                        "SELECT \"Version\" FROM \"Conversations\" WHERE \"Id\" = @p0 AND \"UserId\" = @p1", ct, conversationId, userId);
                    var status = version is null or DBNull || Convert.ToInt64(version, null) != expectedVersion
                        ? AcceptStatus.VersionConflict
                        : AcceptStatus.InsufficientBalance;
                    return (false, new AcceptOutcome(status, 0));
                }

                var balance = await session.ScalarAsync(
                    "UPDATE \"AspNetUsers\" SET \"TokenBalance\" = \"TokenBalance\" - @p0 WHERE \"Id\" = @p1 AND \"TokenBalance\" >= @p0 RETURNING \"TokenBalance\"",
                    ct, cost, userId);
                if (balance is null or DBNull)
                {
                    // Only another node's concurrent charge (PostgreSQL, read committed) gets here; its savepoint undoes the update above.
                    return session.Dialect.UsesSavepoints
                        ? (false, new AcceptOutcome(AcceptStatus.InsufficientBalance, 0))
                        : throw new InvalidOperationException("The balance changed inside an exclusive SQLite transaction.");
                }

                if (message is not null)
                {
                    await InsertAsync(session, message, reply is null ? nodeId : null, ct);
                }

                if (cost > 0)
                {
                    // The ledger row of the charge, in the same operation (so the same transaction) as the balance change.
                    var charged = message ?? reply!;
                    await session.ExecuteAsync(InsertLedgerEntry, ct,
                        _dialect.Id(Guid.CreateVersion7()), userId, "message", -cost, balance, _dialect.Id(charged.Id), charged.CreatedAt);
                }

                if (reply is not null)
                {
                    await InsertAsync(session, reply, null, ct);
                }

                return (true, new AcceptOutcome(AcceptStatus.Accepted, Convert.ToInt64(balance, null)));
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
        return _writer.WriteAsync(command.UserId, async (session, ct) =>
        {
            if (command.Refund > 0 && _dialect.LockUserSql is { } lockUser)
            {
                await session.ExecuteAsync(lockUser, ct, _dialect.Id(command.UserId));
            }

            var moved = await session.ExecuteAsync(
                "UPDATE \"Conversations\" SET \"Version\" = @p0, \"LastSequence\" = @p1, \"UpdatedAt\" = @p2, \"CurrentMessageId\" = @p5, \"PartialReply\" = NULL " +
                "WHERE \"Id\" = @p3 AND \"Version\" = @p4",
                ct, command.ExpectedVersion + 1, reply.Sequence, reply.CreatedAt, _dialect.Id(reply.ConversationId), command.ExpectedVersion,
                _dialect.Id(reply.Id));
            if (moved == 0)
            {
                return (false, new CompleteOutcome(false, null));
            }

            await session.ExecuteAsync(
                "UPDATE \"Messages\" SET \"Status\" = @p0, \"NodeId\" = NULL, " +
                "\"Charge\" = CASE WHEN \"Charge\" > @p3 THEN \"Charge\" - @p3 ELSE 0 END WHERE \"ConversationId\" = @p1 AND \"Sequence\" = @p2",
                ct, reply.Status, _dialect.Id(reply.ConversationId), reply.Sequence - 1, command.Refund);
            await InsertAsync(session, reply, null, ct);
            long? balance = null;
            if (command.Refund > 0)
            {
                balance = Convert.ToInt64(await session.ScalarAsync(
                    "UPDATE \"AspNetUsers\" SET \"TokenBalance\" = \"TokenBalance\" + @p0 WHERE \"Id\" = @p1 RETURNING \"TokenBalance\"",
                    ct, command.Refund, _dialect.Id(command.UserId)), null);
                await session.ExecuteAsync(InsertLedgerEntry, ct,
                    _dialect.Id(Guid.CreateVersion7()), _dialect.Id(command.UserId), "refund", command.Refund, balance,
                    _dialect.Id(command.UserMessageId ?? reply.Id), reply.CreatedAt);
            }

            return (true, new CompleteOutcome(true, balance));
        }, cancellationToken);
    }

    private Task<int> InsertAsync(WriterSession session, StoredMessage message, string? nodeId, CancellationToken cancellationToken) =>
        session.ExecuteAsync(InsertMessage, cancellationToken,
            _dialect.Id(message.Id), _dialect.Id(message.ConversationId), message.Sequence, message.Role, message.Content,
            message.Status, message.ClientMessageId, message.CreatedAt, nodeId,
            message.TokenCount, message.Model, message.FinishReason, message.Usage?.PromptTokens, message.Usage?.CompletionTokens, message.Charge,
            message.ParentId is { } parent ? _dialect.Id(parent) : null);

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
        reader.IsDBNull(15) ? null : reader.GetGuid(15));

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

    /// <summary>Stops the writer after it committed what was queued.</summary>
    public ValueTask DisposeAsync() => _writer.DisposeAsync();
}
