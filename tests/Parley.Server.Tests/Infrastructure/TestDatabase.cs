using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>The databases the suite runs against.</summary>
public enum DatabaseProvider
{
    /// <summary>The embedded default: <c>parley.db</c> in the data directory.</summary>
    Sqlite,

    /// <summary>A database in the throwaway cluster (<see cref="Parley.Testing.PostgresCluster"/>).</summary>
    PostgreSql,
}

/// <summary>
/// A fresh, empty Parley database plus its data directory (where the server keeps its generated signing key and, for
/// SQLite, the database file). Hosts started over the same instance see the same data, which is how the durability
/// tests restart a server. Also gives raw SQL access for the few checks HTTP cannot make.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private TestDatabase(DatabaseProvider provider, string dataDirectory, string? connectionString)
    {
        Provider = provider;
        DataDirectory = dataDirectory;
        ConnectionString = connectionString;
    }

    /// <summary>The provider.</summary>
    public DatabaseProvider Provider { get; }

    /// <summary>The server's <c>Parley:DataDirectory</c> (absolute, temporary).</summary>
    public string DataDirectory { get; }

    /// <summary>The PostgreSQL connection string; null for SQLite (the server derives it from the data directory).</summary>
    public string? ConnectionString { get; }

    /// <summary>The server settings that point a host at this database, as configuration keys (<c>Section:Key</c>).</summary>
    public IReadOnlyDictionary<string, string> Settings
    {
        get
        {
            var settings = new Dictionary<string, string>
            {
                ["Parley:DataDirectory"] = DataDirectory,
                ["Database:Provider"] = Provider == DatabaseProvider.Sqlite ? "Sqlite" : "PostgreSQL",
            };
            if (ConnectionString is not null)
            {
                settings["ConnectionStrings:Parley"] = ConnectionString;
            }

            return settings;
        }
    }

    /// <summary>
    /// <see cref="Settings"/> as environment variables (<c>Section__Key</c>) for a <see cref="Parley.Testing.ServerProcess"/>;
    /// for SQLite an inherited <c>ConnectionStrings__Parley</c> is removed so the server uses the data directory.
    /// </summary>
    public Dictionary<string, string?> Environment()
    {
        var environment = Settings.ToDictionary(setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => (string?)setting.Value);
        environment.TryAdd("ConnectionStrings__Parley", null);
        return environment;
    }

    /// <summary>A new SQLite database in a new temporary data directory.</summary>
    public static TestDatabase CreateSqlite() =>
        new(DatabaseProvider.Sqlite, Directory.CreateTempSubdirectory("parley-test-").FullName, null);

    /// <summary>A new data directory for the PostgreSQL database behind <paramref name="connectionString"/>.</summary>
    public static TestDatabase CreatePostgreSql(string connectionString) =>
        new(DatabaseProvider.PostgreSql, Directory.CreateTempSubdirectory("parley-test-").FullName, connectionString);

    /// <summary>Opens a raw ADO.NET connection to the database (not pooled for SQLite, so the file is released at once).</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        DbConnection connection = Provider == DatabaseProvider.Sqlite
            ? new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = Path.Combine(DataDirectory, "parley.db"),
                Pooling = false,
                DefaultTimeout = 30,
            }.ToString())
            : new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    /// <summary>The value to bind for a uuid column (SQLite stores GUIDs as upper-case text, as EF Core does).</summary>
    public object Id(Guid id) => Provider == DatabaseProvider.Sqlite ? id.ToString().ToUpperInvariant() : id;

    /// <summary>Runs <paramref name="sql"/> (parameters <c>@p0</c>, <c>@p1</c>, …) and returns the first column of the first row.</summary>
    public async Task<object?> ScalarAsync(string sql, params object?[] values)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, sql, values);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }

    /// <summary>Runs <paramref name="sql"/> (parameters <c>@p0</c>, <c>@p1</c>, …) and returns the rows affected.</summary>
    public async Task<int> ExecuteAsync(string sql, params object?[] values)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, sql, values);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>Deletes the data directory (the PostgreSQL database goes with the cluster).</summary>
    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A host still holds a file; the directory is temporary anyway.
        }

        return ValueTask.CompletedTask;
    }

    private static DbCommand Command(DbConnection connection, string sql, object?[] values)
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
}
