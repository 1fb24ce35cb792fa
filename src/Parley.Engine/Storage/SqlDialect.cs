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
    /// Whether the group-commit writer wraps each operation in a savepoint. PostgreSQL needs it: any failed statement
    /// aborts the whole transaction, and under read committed another node may change a row between an operation's
    /// statements. SQLite does not: its writer holds the database's only write lock for the whole transaction, so an
    /// operation's checks stay true until commit, and operations reject only before their first write.
    /// </summary>
    public abstract bool UsesSavepoints { get; }

    /// <summary>
    /// A statement that locks a user's row (parameter <c>@p0</c>: the user id) before an operation touches other rows,
    /// or null where the writer's transaction already excludes every other writer (SQLite).
    /// </summary>
    public virtual string? LockUserSql => null;

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

        public override bool UsesSavepoints => false;

        public override object Id(Guid id) => id.ToString().ToUpperInvariant();

        // SQLITE_CONSTRAINT (19); extended codes 2067 (UNIQUE) and 1555 (PRIMARYKEY).
        public override bool IsUniqueViolation(DbException exception) =>
            exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 };

        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), after the connection's own busy timeout.
        public override bool IsTransient(DbException exception) => exception is SqliteException { SqliteErrorCode: 5 or 6 };
    }

    private sealed class PostgreSqlDialect : SqlDialect
    {
        public override bool UsesSavepoints => true;

        public override string? LockUserSql => "SELECT 1 FROM \"AspNetUsers\" WHERE \"Id\" = @p0 FOR UPDATE";

        public override object Id(Guid id) => id;

        // SQLSTATE 23505 unique_violation (PostgreSQL manual, Appendix A).
        public override bool IsUniqueViolation(DbException exception) => exception.SqlState == "23505";

        // 40P01 deadlock_detected, 40001 serialization_failure: the transaction was rolled back for sure. (A broken
        // connection is not retried: the commit may have happened, and a rerun would not know.)
        public override bool IsTransient(DbException exception) => exception.SqlState is "40P01" or "40001";
    }
}
