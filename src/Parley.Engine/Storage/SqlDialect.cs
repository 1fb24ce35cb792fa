using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Parley.Engine.Storage;

/// <summary>What differs between the SQL databases Parley stores turns in. Table and column names follow the EF Core model of the server.</summary>
public abstract class SqlDialect
{
    /// <summary>SQLite (the embedded default): GUIDs stored as upper-case text, as EF Core's SQLite provider does.</summary>
    /// <param name="synchronous">The writer's <c>PRAGMA synchronous</c> level in WAL mode: <c>FULL</c> (every commit fsynced:
    /// durable across power loss) or <c>NORMAL</c> (durable across process crashes; a power loss may drop the last commits).
    /// See https://sqlite.org/pragma.html#pragma_synchronous.</param>
    /// <exception cref="ArgumentException">The level is neither FULL nor NORMAL.</exception>
    public static SqlDialect Sqlite(string synchronous = "FULL") =>
        synchronous.ToUpperInvariant() is "FULL" or "NORMAL"
            ? new SqliteDialect(synchronous.ToUpperInvariant())
            : throw new ArgumentException("SQLite synchronous must be FULL or NORMAL.", nameof(synchronous));

    /// <summary>PostgreSQL: native <c>uuid</c> columns.</summary>
    public static SqlDialect PostgreSql { get; } = new PostgreSqlDialect();

    /// <summary>
    /// Reads a user's <c>TokenBalance</c> (parameter <c>@p0</c>: the user id) in the writer's transaction. No lock: the
    /// batch's single balance <c>UPDATE … RETURNING</c> at its end checks that nobody else changed the balance meanwhile
    /// (another node's writer; on SQLite nobody can, its writer's <c>BEGIN IMMEDIATE</c> excludes every other writer),
    /// and reruns the batch if someone did — the rerun locking the rows (<see cref="LockBalancesSql"/>).
    /// </summary>
    public string SelectBalanceSql => SelectBalance;

    /// <summary>Reads <c>Id, TokenBalance</c> of several users at once (parameter <c>@p0</c>: an array of ids); null where
    /// <see cref="SelectBalanceSql"/> per user is as cheap (SQLite, in process).</summary>
    public virtual string? SelectBalancesSql => null;

    /// <summary><see cref="SelectBalancesSql"/> that also locks the rows, in id order, until the commit (<c>FOR UPDATE</c>);
    /// null where no other writer can change them (SQLite).</summary>
    public virtual string? LockBalancesSql => null;

    private const string SelectBalance = $"SELECT {StoreSchema.UserColumns.TokenBalance} FROM {StoreSchema.Users} WHERE {StoreSchema.UserColumns.Id} = @p0";

    /// <summary>
    /// Most message rows the writer puts in one <c>INSERT</c> (16 parameters each), a power of two up to 16. Measured with
    /// bench/Parley.Bench.Writer: PostgreSQL is fastest at 16 (fewer, larger statements in the batch's round trip);
    /// SQLite at 4, because Microsoft.Data.Sqlite finds every parameter by name on each execution and SQLite's lookup
    /// is linear, so binding grows with the square of a statement's parameters.
    /// </summary>
    public virtual int MaxRowsPerInsert => 16;

    /// <summary>
    /// Group-commit writers the store runs when <see cref="EngineOptions.CommitWriters"/> is 0 (automatic): 1 on SQLite,
    /// 4 on PostgreSQL. Measured with bench/Parley.Bench <c>turns</c> (64 clients, local PostgreSQL, fsync on): see
    /// BENCHMARKS.md, issue 15.
    /// </summary>
    public virtual int DefaultCommitWriters => 1;

    /// <summary>
    /// Most group-commit writers the database can use at once: 1 on SQLite, whose single write lock lets one transaction
    /// write at a time (a second writer would only wait for it), <see cref="EngineOptions.MaxCommitWriters"/> on PostgreSQL.
    /// </summary>
    public virtual int MaxCommitWriters => 1;

    /// <summary>The number of group-commit writers to run for the setting <paramref name="configured"/> (0: <see cref="DefaultCommitWriters"/>).</summary>
    /// <param name="configured"><see cref="EngineOptions.CommitWriters"/>: 0 (automatic) to <see cref="MaxCommitWriters"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The setting is negative or above <see cref="MaxCommitWriters"/> (the message says why).</exception>
    public int CommitWriters(int configured)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(configured, nameof(EngineOptions.CommitWriters));
        if (configured > MaxCommitWriters)
        {
            throw new ArgumentOutOfRangeException(nameof(EngineOptions.CommitWriters), configured,
                MaxCommitWriters == 1
                    ? "SQLite allows one writing transaction at a time: more than one group-commit writer would only wait for the other; use 0 or 1."
                    : $"At most {MaxCommitWriters} group-commit writers.");
        }

        return configured == 0 ? DefaultCommitWriters : configured;
    }

    /// <summary>Converts a GUID to the value bound for a uuid column.</summary>
    public abstract object Id(Guid id);

    /// <summary>True when <paramref name="exception"/> reports a unique-constraint violation.</summary>
    public abstract bool IsUniqueViolation(DbException exception);

    /// <summary>True when <paramref name="exception"/> is worth retrying the whole transaction for (deadlock, serialization failure, busy).</summary>
    public abstract bool IsTransient(DbException exception);

    /// <summary>Prepares the group-commit writer's dedicated connection (e.g. SQLite's <c>synchronous</c> level).</summary>
    public virtual Task InitializeWriterAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    private sealed class SqliteDialect(string synchronous) : SqlDialect
    {
        public override async Task InitializeWriterAsync(DbConnection connection, CancellationToken cancellationToken)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous};";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        public override object Id(Guid id) => id.ToString().ToUpperInvariant();

        // SQLITE_CONSTRAINT (19); extended codes 2067 (UNIQUE) and 1555 (PRIMARYKEY).
        public override int MaxRowsPerInsert => 4;

        public override bool IsUniqueViolation(DbException exception) =>
            exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 };

        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), after the connection's own busy timeout.
        public override bool IsTransient(DbException exception) => exception is SqliteException { SqliteErrorCode: 5 or 6 };
    }

    private sealed class PostgreSqlDialect : SqlDialect
    {
        public override int DefaultCommitWriters => 4;

        public override int MaxCommitWriters => EngineOptions.MaxCommitWriters;

        public override string? SelectBalancesSql { get; } =
            $"SELECT {StoreSchema.UserColumns.Id}, {StoreSchema.UserColumns.TokenBalance} FROM {StoreSchema.Users} WHERE {StoreSchema.UserColumns.Id} = ANY(@p0)";

        public override string? LockBalancesSql { get; } =
            $"SELECT {StoreSchema.UserColumns.Id}, {StoreSchema.UserColumns.TokenBalance} FROM {StoreSchema.Users} " +
            $"WHERE {StoreSchema.UserColumns.Id} = ANY(@p0) ORDER BY {StoreSchema.UserColumns.Id} FOR UPDATE";

        public override object Id(Guid id) => id;

        // SQLSTATE 23505 unique_violation (PostgreSQL manual, Appendix A).
        public override bool IsUniqueViolation(DbException exception) => exception.SqlState == "23505";

        // 40P01 deadlock_detected, 40001 serialization_failure: the transaction was rolled back for sure. (A broken
        // connection is not retried: the commit may have happened, and a rerun would not know.)
        public override bool IsTransient(DbException exception) => exception.SqlState is "40P01" or "40001";
    }
}
