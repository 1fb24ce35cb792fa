using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Tests.Infrastructure;
using Parley.Testing;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace Parley.Server.Tests.Infrastructure;

/// <summary>
/// The one PostgreSQL cluster of the test run, started on first use (a run filtered to SQLite never starts it) and
/// stopped at the end. Missing binaries skip the PostgreSQL tests loudly — unless <c>CI=true</c>, where they fail.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private PostgresCluster? _cluster;

    /// <summary>True when the environment variable <c>CI</c> is <c>true</c>: nothing may be skipped.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Why the PostgreSQL tests are skipped here, or null when they run.</summary>
    public static string? SkipReason { get; } = !IsCi && PostgresCluster.FindBinDirectory() is null
        ? $"SKIPPED: PostgreSQL server binaries (initdb, pg_ctl, psql) not found in " +
          $"{System.Environment.GetEnvironmentVariable(PostgresCluster.BinDirectoryVariable) ?? PostgresCluster.DefaultBinDirectory} (set ${PostgresCluster.BinDirectoryVariable} to override). " +
          "Install Debian's 'postgresql' package to run the PostgreSQL half of this suite; with CI=true this is a failure."
        : null;

    /// <summary>The cluster, started on the first call.</summary>
    public async Task<PostgresCluster> GetClusterAsync()
    {
        await _gate.WaitAsync();
        try
        {
            return _cluster ??= await PostgresCluster.StartAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the cluster if it was started.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        _gate.Dispose();
    }
}

/// <summary>
/// A test class's database provider and its default host over a fresh database. Tests that need other settings start
/// their own host with <see cref="StartFactoryAsync"/>, over another fresh database unless they pass one.
/// </summary>
public abstract class ParleyFixture : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private ParleyFactory? _factory;

    /// <summary>The provider every host of this fixture uses.</summary>
    public abstract DatabaseProvider Provider { get; }

    /// <summary>The default host (fresh database, default test settings). Skips the test when the provider is unavailable.</summary>
    public ParleyFactory Factory
    {
        get
        {
            SkipIfUnavailable();
            return _factory!;
        }
    }

    /// <summary>Why this provider's tests are skipped, or null.</summary>
    protected virtual string? SkipReason => null;

    /// <summary>Calls <see cref="Assert.Skip"/> with the reason when the provider is unavailable.</summary>
    public void SkipIfUnavailable()
    {
        if (SkipReason is { } reason)
        {
            Assert.Skip(reason);
        }
    }

    /// <summary>A new, empty database (disposed with the fixture).</summary>
    public async Task<TestDatabase> CreateDatabaseAsync()
    {
        SkipIfUnavailable();
        var database = await NewDatabaseAsync();
        lock (_owned)
        {
            _owned.Add(database);
        }

        return database;
    }

    /// <summary>Starts a host (the caller disposes it) over <paramref name="database"/>, or over a new database when null.</summary>
    public async Task<ParleyFactory> StartFactoryAsync(
        IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null,
        TestDatabase? database = null)
    {
        database ??= await CreateDatabaseAsync();
        var factory = new ParleyFactory(database, settings, configureServices);
        _ = factory.Server; // start it now: migrations run here, not inside the test's first request
        return factory;
    }

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        if (SkipReason is null)
        {
            _factory = await StartFactoryAsync();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Creates the provider's database.</summary>
    protected abstract Task<TestDatabase> NewDatabaseAsync();
}

/// <summary>SQLite: a new temporary data directory per database.</summary>
public sealed class SqliteFixture : ParleyFixture
{
    /// <inheritdoc />
    public override DatabaseProvider Provider => DatabaseProvider.Sqlite;

    /// <inheritdoc />
    protected override Task<TestDatabase> NewDatabaseAsync() => Task.FromResult(TestDatabase.CreateSqlite());
}

/// <summary>PostgreSQL: a new database in the run's cluster per database.</summary>
public sealed class PostgreSqlFixture(PostgresServer server) : ParleyFixture
{
    /// <inheritdoc />
    public override DatabaseProvider Provider => DatabaseProvider.PostgreSql;

    /// <inheritdoc />
    protected override string? SkipReason => PostgresServer.SkipReason;

    /// <inheritdoc />
    protected override async Task<TestDatabase> NewDatabaseAsync()
    {
        var cluster = await server.GetClusterAsync();
        return TestDatabase.CreatePostgreSql(await cluster.CreateDatabaseAsync());
    }
}

/// <summary>Base of every test class: the fixture of its provider and the default host.</summary>
public abstract class ParleyTests<TFixture>(TFixture fixture) : IClassFixture<TFixture>
    where TFixture : ParleyFixture
{
    /// <summary>The provider's fixture.</summary>
    protected TFixture Fixture { get; } = fixture;

    /// <summary>The class's default host.</summary>
    protected ParleyFactory Factory => Fixture.Factory;

    /// <summary>The test's cancellation token.</summary>
    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;
}
