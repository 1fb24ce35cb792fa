using System.Data.Common;
using System.Numerics;
using System.Text;
using static Parley.Engine.Storage.StoreSchema;

namespace Parley.Engine.Storage;

/// <summary>
/// The group-commit writer's connection, its current transaction and what the transaction's operations leave to its end:
/// the balances of the batch's users (<see cref="Ledger"/>: read once, charged in memory) and the messages to insert.
/// <see cref="FlushAsync"/> writes one balance <c>UPDATE</c> per user and the messages in multi-row <c>INSERT</c>s just
/// before the commit. SQL texts name their parameters <c>@p0</c>, <c>@p1</c>, … in the order of the values passed.
/// </summary>
/// <remarks>
/// Where the provider batches statements (<see cref="DbConnection.CanCreateBatch"/>: Npgsql) the session is
/// <b>pipelined</b>: <see cref="ExecuteAsync"/> and <see cref="ScalarAsync"/> only queue their statement, and the writer
/// sends every operation's queued statements in one round trip (<see cref="RunQueuedAsync"/>), in operation order, so
/// the database sees them in the same order as one by one. Elsewhere (SQLite, in process) each statement runs at once
/// as a reusable prepared command.
/// </remarks>
internal sealed class WriterSession
{
    /// <summary>Most rows in one multi-row INSERT of any dialect (<see cref="SqlDialect.MaxRowsPerInsert"/>).</summary>
    private const int MaxRowsPerInsert = 16;

    private const string UpdateBalanceSql =
        $"UPDATE {Users} SET {UserColumns.TokenBalance} = {UserColumns.TokenBalance} + @p0 WHERE {UserColumns.Id} = @p1 RETURNING {UserColumns.TokenBalance}";

    private static readonly string[] InsertSql = BuildInserts();
    private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _returning = new(StringComparer.Ordinal);
    private readonly List<(StoredMessage Message, string? NodeId)> _inserts = [];
    private readonly List<(string Sql, object?[] Values)> _deferred = [];
    private readonly List<Queued> _queued = [];
    private readonly List<long> _expected = [];
    private DbTransaction? _transaction;

    public WriterSession(DbConnection connection, SqlDialect dialect) =>
        (Connection, Dialect, IsPipelined) = (connection, dialect, connection.CanCreateBatch);

    public DbConnection Connection { get; }

    public SqlDialect Dialect { get; }

    /// <summary>True when statements are queued and sent together (see the remarks).</summary>
    public bool IsPipelined { get; }

    /// <summary>The balances of the batch's users.</summary>
    public BalanceLedger Ledger { get; } = new();

    /// <summary>True while statements wait for <see cref="RunQueuedAsync"/>.</summary>
    public bool HasQueued => _queued.Count > 0;

    /// <summary>Starts a batch: forgets the balances, messages and statements of any earlier attempt.</summary>
    public void Begin(DbTransaction transaction)
    {
        _transaction = transaction;
        Ledger.Clear();
        _inserts.Clear();
        _deferred.Clear();
        _queued.Clear();
    }

    /// <summary>Runs (or, pipelined, queues) a statement; its task gives the rows it changed.</summary>
    public Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params ReadOnlySpan<object?> values)
    {
        if (!IsPipelined)
        {
            return Bind(sql, values).ExecuteNonQueryAsync(cancellationToken);
        }

        // Every pipelined statement yields one result set, so results map to statements by position: RETURNING 1 per row.
        if (!_returning.TryGetValue(sql, out var returning))
        {
            _returning[sql] = returning = sql + " RETURNING 1";
        }

        var queued = new Queued(returning, values.ToArray(), CountsRows: true);
        _queued.Add(queued);
        return queued.Rows.Task;
    }

    /// <summary>Runs (or, pipelined, queues) a query; its task gives the first column of the first row, or null.</summary>
    public Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken, params ReadOnlySpan<object?> values)
    {
        if (!IsPipelined)
        {
            return Bind(sql, values).ExecuteScalarAsync(cancellationToken);
        }

        var queued = new Queued(sql, values.ToArray(), CountsRows: false);
        _queued.Add(queued);
        return queued.Value.Task;
    }

    /// <summary>
    /// Sends the queued statements in one round trip, then completes their tasks in order — which runs the waiting
    /// operations on to their next statement (queued for the next round) or to their end.
    /// </summary>
    public async Task RunQueuedAsync(CancellationToken cancellationToken)
    {
        var round = _queued.ToArray();
        _queued.Clear();
        var results = new object?[round.Length];
        await using (var batch = Connection.CreateBatch())
        {
            batch.Transaction = _transaction;
            foreach (var queued in round)
            {
                Add(batch, queued.Sql, queued.Values);
            }

            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            for (var i = 0; i < round.Length; i++)
            {
                var rows = 0;
                object? first = null;
                while (await reader.ReadAsync(cancellationToken))
                {
                    first = rows++ == 0 && !round[i].CountsRows ? reader.GetValue(0) : first;
                }

                results[i] = round[i].CountsRows ? rows : first;
                await reader.NextResultAsync(cancellationToken);
            }
        }

        for (var i = 0; i < round.Length; i++)
        {
            if (round[i].CountsRows)
            {
                round[i].Rows.SetResult((int)results[i]!);
            }
            else
            {
                round[i].Value.SetResult(results[i] is DBNull ? null : results[i]);
            }
        }
    }

    /// <summary>
    /// Reads the balances of <paramref name="users"/> into the <see cref="Ledger"/>: in one statement where the dialect
    /// has one (<see cref="SqlDialect.SelectBalancesSql"/>: PostgreSQL), else one by one (<see cref="SqlDialect.SelectBalanceSql"/>).
    /// </summary>
    /// <param name="users">The users, sorted and distinct.</param>
    /// <param name="lockRows">Lock the rows until the commit (<see cref="SqlDialect.LockBalancesSql"/>): the rerun of a
    /// batch that lost a race for a balance to another writer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task ReadBalancesAsync(List<Guid> users, bool lockRows, CancellationToken cancellationToken)
    {
        if (users.Count == 0)
        {
            return;
        }

        if ((lockRows ? Dialect.LockBalancesSql : Dialect.SelectBalancesSql) is not { } sql)
        {
            foreach (var user in users)
            {
                var stored = await Bind(Dialect.SelectBalanceSql, [Dialect.Id(user)]).ExecuteScalarAsync(cancellationToken);
                Ledger.Set(user, stored is null or DBNull ? null : Convert.ToInt64(stored, null));
            }

            return;
        }

        foreach (var user in users)
        {
            Ledger.Set(user, null);
        }

        await using var reader = await Bind(sql, [users.ToArray()]).ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            Ledger.Set(reader.GetGuid(0), reader.GetInt64(1));
        }
    }

    /// <summary>Queues a message for the transaction's multi-row INSERT.</summary>
    public void Insert(StoredMessage message, string? nodeId) => _inserts.Add((message, nodeId));

    /// <summary>
    /// Queues a statement whose outcome no operation reads (a ledger row, a settled status) for <see cref="FlushAsync"/>,
    /// after the balances and messages: pipelined, it travels in the flush's round trip instead of a round of its own.
    /// </summary>
    /// <param name="sql">The statement, parameters <c>@p0</c>, <c>@p1</c>, ….</param>
    /// <param name="values">Its parameter values, in order.</param>
    public void Defer(string sql, params ReadOnlySpan<object?> values) => _deferred.Add((sql, values.ToArray()));

    /// <summary>
    /// Writes what the batch's operations queued: one UPDATE per charged user, the messages in as few INSERTs as fit, then
    /// the <see cref="Defer">deferred</see> statements — in one round trip (a <see cref="DbBatch"/>) when pipelined, else statement by statement.
    /// </summary>
    /// <exception cref="BalanceChangedException">Another writer changed a balance since the batch read it (the batch reruns).</exception>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = IsPipelined ? Connection.CreateBatch() : null;
        try
        {
            if (batch is not null)
            {
                batch.Transaction = _transaction;
            }

            _expected.Clear();
            foreach (var (userId, delta) in Ledger.Changes())
            {
                _expected.Add(Ledger.Balance(userId)!.Value);
                if (batch is null)
                {
                    Check(await Bind(UpdateBalanceSql, [delta, Dialect.Id(userId)]).ExecuteScalarAsync(cancellationToken), _expected[^1]);
                }
                else
                {
                    Add(batch, UpdateBalanceSql, [delta, Dialect.Id(userId)]);
                }
            }

            for (var offset = 0; offset < _inserts.Count;)
            {
                // Chunks of 16 (or the dialect's most), 8, 4, … rows: a handful of statement texts (prepared once each) cover every batch size.
                var rows = Math.Min(Math.Min(MaxRowsPerInsert, Dialect.MaxRowsPerInsert), (int)BitOperations.RoundUpToPowerOf2((uint)(_inserts.Count - offset) + 1) / 2);
                var values = InsertValues(offset, rows);
                if (batch is null)
                {
                    await Bind(InsertSql[rows], values).ExecuteNonQueryAsync(cancellationToken);
                }
                else
                {
                    Add(batch, InsertSql[rows], values);
                }

                offset += rows;
            }

            foreach (var (sql, values) in _deferred)
            {
                if (batch is null)
                {
                    await Bind(sql, values).ExecuteNonQueryAsync(cancellationToken);
                }
                else
                {
                    Add(batch, sql, values);
                }
            }

            if (batch is { BatchCommands.Count: > 0 })
            {
                // The balance UPDATEs come first, one result set each.
                await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
                foreach (var expected in _expected)
                {
                    Check(await reader.ReadAsync(cancellationToken) ? reader.GetValue(0) : null, expected);
                    await reader.NextResultAsync(cancellationToken);
                }
            }
        }
        finally
        {
            if (batch is not null)
            {
                await batch.DisposeAsync();
            }
        }

        static void Check(object? stored, long expected)
        {
            if (stored is null or DBNull || Convert.ToInt64(stored, null) != expected)
            {
                throw new BalanceChangedException();
            }
        }
    }

    private object?[] InsertValues(int offset, int rows)
    {
        var values = new object?[rows * MessageColumns.Count];
        for (var row = 0; row < rows; row++)
        {
            var (message, nodeId) = _inserts[offset + row];
            var p = row * MessageColumns.Count;
            values[p] = Dialect.Id(message.Id);
            values[p + 1] = Dialect.Id(message.ConversationId);
            values[p + 2] = message.Sequence;
            values[p + 3] = message.Role;
            values[p + 4] = message.Content;
            values[p + 5] = message.Status;
            values[p + 6] = message.ClientMessageId;
            values[p + 7] = message.CreatedAt;
            values[p + 8] = nodeId;
            values[p + 9] = message.TokenCount;
            values[p + 10] = message.Model;
            values[p + 11] = message.FinishReason;
            values[p + 12] = message.Usage?.PromptTokens;
            values[p + 13] = message.Usage?.CompletionTokens;
            values[p + 14] = message.Charge;
            values[p + 15] = message.ParentId is { } parent ? Dialect.Id(parent) : null;
            values[p + 16] = Bots.MessageSource.ToJson(message.Sources);
        }

        return values;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
    }

    private static void Add(DbBatch batch, string sql, object?[] values)
    {
        var command = batch.CreateBatchCommand();
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@p" + i;
            parameter.Value = values[i] ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        batch.BatchCommands.Add(command);
    }

    private DbCommand Bind(string sql, ReadOnlySpan<object?> values)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < values.Length; i++)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = "@p" + i;
                command.Parameters.Add(parameter);
            }

            _commands.Add(sql, command);
        }

        command.Transaction = _transaction;
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        return command;
    }

    /// <summary><c>INSERT INTO "Messages" (…) VALUES (…), (…)…</c> for 1, 2, 4, … <see cref="MaxRowsPerInsert"/> rows, by row count.</summary>
    private static string[] BuildInserts()
    {
        var sql = new string[MaxRowsPerInsert + 1];
        for (var rows = 1; rows <= MaxRowsPerInsert; rows *= 2)
        {
            var text = new StringBuilder($"INSERT INTO {Messages} ({MessageColumns.All}) VALUES ");
            for (var row = 0; row < rows; row++)
            {
                text.Append(row == 0 ? "(" : ", (");
                for (var column = 0; column < MessageColumns.Count; column++)
                {
                    text.Append(column == 0 ? "@p" : ", @p").Append(row * MessageColumns.Count + column);
                }

                text.Append(')');
            }

            sql[rows] = text.ToString();
        }

        return sql;
    }

    /// <summary>A statement waiting for the next round: its completion is <see cref="Rows"/> (rows returned) or <see cref="Value"/> (first value).</summary>
    private sealed record Queued(string Sql, object?[] Values, bool CountsRows)
    {
        public TaskCompletionSource<int> Rows { get; } = new();

        public TaskCompletionSource<object?> Value { get; } = new();
    }
}

/// <summary>Another writer changed a user's balance between the batch's read and its update: the batch reruns on fresh balances.</summary>
internal sealed class BalanceChangedException() : Exception("A balance changed while the batch ran.");
