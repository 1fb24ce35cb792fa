using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using Parley.Engine.Storage;
using Parley.Server.Infrastructure;

namespace Parley.Server.Data;

/// <summary>Registers the database chosen by <c>Database:Provider</c>: the EF Core context, the ADO.NET data source the engine writes through, and the SQL dialect.</summary>
public static class DatabaseSetup
{
    /// <summary>Adds <see cref="ParleyDbContext"/> (pooled), a <see cref="DbDataSource"/> and a <see cref="SqlDialect"/>.</summary>
    /// <exception cref="InvalidOperationException">PostgreSQL is chosen but <c>ConnectionStrings:Parley</c> is missing.</exception>
    public static WebApplicationBuilder AddParleyDatabase(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Database").Get<DatabaseOptions>() ?? new DatabaseOptions();
        var services = builder.Services;
        // An empty value (e.g. ConnectionStrings__Parley= in a compose file) means "not set": given to SQLite it would
        // open a private temporary database per connection, so nothing would persist and migrations would be lost.
        var configured = builder.Configuration.GetConnectionString("Parley") is { } value && !string.IsNullOrWhiteSpace(value) ? value : null;

        if (options.IsPostgreSql)
        {
            var connectionString = configured
                ?? throw new InvalidOperationException("Database:Provider is PostgreSQL but ConnectionStrings:Parley is not set.");
            var dataSource = new NpgsqlDataSourceBuilder(connectionString).Build();
            services.AddSingleton<DbDataSource>(dataSource);
            services.AddSingleton(SqlDialect.PostgreSql);
            services.AddDbContextPool<ParleyDbContext, PostgresParleyDbContext>(db => db.UseNpgsql(dataSource));
        }
        else
        {
            var connectionString = configured ?? SqliteConnectionString(DataDirectory.Resolve(builder.Configuration));
            services.AddSingleton<DbDataSource>(_ => SqliteFactory.Instance.CreateDataSource(connectionString));
            services.AddSingleton(SqlDialect.Sqlite(options.SqliteSynchronous));
            services.AddDbContextPool<ParleyDbContext, SqliteParleyDbContext>(db => db.UseSqlite(connectionString));
        }

        return builder;
    }

    /// <summary>The default SQLite connection string: <c>parley.db</c> in the data directory, pooled, 30 s busy timeout.</summary>
    public static string SqliteConnectionString(string dataDirectory) => new SqliteConnectionStringBuilder
    {
        DataSource = Path.Combine(dataDirectory, "parley.db"),
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>Applies pending EF Core migrations (and, for SQLite, switches the file to WAL journaling). Called once at start.</summary>
    public static async Task MigrateDatabaseAsync(this WebApplication app, CancellationToken cancellationToken)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
        if (db.Database.IsSqlite())
        {
            await db.Database.OpenConnectionAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            await db.Database.CloseConnectionAsync();
        }

        if (!db.Database.IsNpgsql())
        {
            await db.Database.MigrateAsync(cancellationToken);
            return;
        }

        // Nodes starting together must migrate one after another. EF Core's own PostgreSQL migration lock is a table lock
        // held per migration transaction, so with two or more pending migrations two nodes could interleave them and one
        // would fail ("column already exists"). A session-level advisory lock on the context's connection spans them all.
        // The lock needs a connection to the database: create it first if it is missing (MigrateAsync would, but too late).
        var creator = db.Database.GetService<Microsoft.EntityFrameworkCore.Storage.IRelationalDatabaseCreator>();
        if (!await creator.ExistsAsync(cancellationToken))
        {
            try
            {
                await creator.CreateAsync(cancellationToken);
            }
            catch (Npgsql.PostgresException ex) when (ex.SqlState == "42P04")
            {
                // duplicate_database: another node created it meanwhile.
            }
        }

        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_lock(7460209331)", cancellationToken);
            await db.Database.MigrateAsync(cancellationToken);
        }
        finally
        {
            await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_unlock(7460209331)", CancellationToken.None);
            await db.Database.CloseConnectionAsync();
        }
    }
}

/// <summary>Resolves and creates <c>Parley:DataDirectory</c>.</summary>
public static class DataDirectory
{
    /// <summary>The absolute data directory (a relative one is relative to the content root), created owner-only if missing.</summary>
    public static string Resolve(IConfiguration configuration)
    {
        var configured = configuration["Parley:DataDirectory"];
        var root = configuration[HostDefaults.ContentRootKey] ?? Directory.GetCurrentDirectory();
        var path = Path.GetFullPath(string.IsNullOrWhiteSpace(configured) ? new ParleyOptions().DataDirectory : configured, root);
        if (!Directory.Exists(path))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        return path;
    }
}
