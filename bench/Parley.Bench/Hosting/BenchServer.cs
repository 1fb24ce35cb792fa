using System.Data.Common;
using System.Globalization;
using Parley.Testing;
using Spectre.Console;

namespace Parley.Bench.Hosting;

/// <summary>
/// A Parley server self-hosted by the benchmark: a snapshot of the build started through Parley.Testing's
/// <see cref="ServerProcess"/> (127.0.0.1, a free port, stopped by its pid), with a temporary data directory (SQLite) or
/// a fresh database (PostgreSQL), benchmark settings and the counter probe. It can be stopped and started again on the
/// same port and data (cold-cache and startup measurements).
/// </summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    private readonly SelfHostSettings _settings;
    private readonly IAnsiConsole _console;
    private readonly string _probePath;
    private ServerProcess? _process;
    private bool _running;

    private BenchServer(SelfHostSettings settings, IReadOnlyDictionary<string, string> scenarioEnvironment, IAnsiConsole console)
    {
        _settings = settings;
        _console = console;
        DataDirectory = Directory.CreateTempSubdirectory("parley-bench-").FullName;
        LogPath = Path.Combine(DataDirectory, "server.log");
        _probePath = Path.Combine(DataDirectory, "probe.txt");
        Environment = BuildEnvironment(settings, scenarioEnvironment, DataDirectory, _probePath, out var database);
        DatabaseName = database;
    }

    public Uri BaseAddress => Process.BaseAddress;

    /// <summary>Which build runs (see <see cref="SelfHostSettings.DescribeBuildAsync"/>), taken when the build was copied.</summary>
    public string Build { get; private set; } = "";

    /// <summary>The temporary data directory (SQLite file, signing key, server log, probe file, the copied build).</summary>
    public string DataDirectory { get; }

    /// <summary>Everything the server wrote (all its runs).</summary>
    public string LogPath { get; }

    /// <summary>PostgreSQL: the database created for this server.</summary>
    public string? DatabaseName { get; }

    public bool IsSqlite => !_settings.IsPostgreSql;

    /// <summary>The SQLite file (null on PostgreSQL).</summary>
    public string? SqliteDatabase => IsSqlite ? Path.Combine(DataDirectory, "parley.db") : null;

    /// <summary>PostgreSQL: the connection string of the server's own database (null on SQLite).</summary>
    public string? PostgreSqlConnectionString => IsSqlite ? null : Environment["ConnectionStrings__Parley"];

    /// <summary>The running process id.</summary>
    public int? Pid => _running && _process is { HasExited: false } process ? process.ProcessId : null;

    /// <summary>What the server was told (shown in reports).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    private ServerProcess Process => _process ?? throw new InvalidOperationException("The server has not been started.");

    /// <summary>Starts a server and waits until <c>/readyz</c> answers 200.</summary>
    public static async Task<BenchServer> StartAsync(
        SelfHostSettings settings, IReadOnlyDictionary<string, string> scenarioEnvironment, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var server = new BenchServer(settings, scenarioEnvironment, console);
        try
        {
            server.Build = await settings.DescribeBuildAsync(cancellationToken);
            var dll = SelfHostSettings.Snapshot(settings.ServerDll, Directory.CreateDirectory(Path.Combine(server.DataDirectory, "build")).FullName);
            server._process = await ServerProcess.StartAsync(
                new ServerOptions
                {
                    ServerDll = dll,
                    Environment = server.Environment.ToDictionary(pair => pair.Key, string? (pair) => pair.Value),
                    StartTimeout = TimeSpan.FromSeconds(120),
                    ReadinessPollInterval = TimeSpan.FromMilliseconds(5),
                    OutputFile = server.LogPath,
                },
                cancellationToken);
            server._running = true;
            console.MarkupLineInterpolated(
                $"[grey]Self-hosted server pid {server.Pid} on {server.BaseAddress} ({(settings.IsPostgreSql ? $"PostgreSQL database {server.DatabaseName}" : "SQLite")}, data {server.DataDirectory}), ready in {server.Process.ReadyAfter.TotalMilliseconds:F0} ms[/]");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the process again and returns the time from process start to the first <c>/readyz</c> 200.</summary>
    public async Task<TimeSpan> StartAsync(CancellationToken cancellationToken)
    {
        var elapsed = await Process.RestartAsync(cancellationToken);
        _running = true;
        return elapsed;
    }

    /// <summary>Stops the process: SIGTERM (graceful), then a kill after 20 s.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process && _running)
        {
            _running = false;
            await process.StopAsync(StopTimeout);
        }
    }

    /// <summary>The server's CPU time so far (user + system), or zero when it is not running.</summary>
    public TimeSpan CpuTime() => _process?.CpuTime() ?? TimeSpan.Zero;

    /// <summary>The probe's latest sample (null without the probe).</summary>
    public ProbeSample? ReadProbe() => _settings.Probe ? ProbeSample.TryRead(_probePath) : null;

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        if (_settings.KeepData)
        {
            _console.MarkupLineInterpolated($"[grey]Kept the server's data directory {DataDirectory}[/]");
            return;
        }

        try
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException ex)
        {
            _console.MarkupLineInterpolated($"[yellow]Could not delete {DataDirectory}: {ex.Message}[/]");
        }
    }

    private static Dictionary<string, string> BuildEnvironment(
        SelfHostSettings settings, IReadOnlyDictionary<string, string> scenarioEnvironment, string dataDirectory, string probePath, out string? databaseName)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Parley__DataDirectory"] = dataDirectory,
            ["RateLimits__Enabled"] = "false",
            ["Quota__InitialBalance"] = "1000000000",
            ["Jwt__AccessTokenMinutes"] = "1440",
            ["Database__SqliteSynchronous"] = settings.SqliteSynchronous,
            // The co-hosted Orleans silo: its own ports, so a benchmark server never meets another silo on this host.
            ["Cluster__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["Cluster__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
        };
        databaseName = null;
        if (settings.IsPostgreSql)
        {
            var builder = new DbConnectionStringBuilder
            {
                ConnectionString = settings.ConnectionString
                    ?? throw new InvalidOperationException("--provider postgresql needs --connection \"Host=127.0.0.1;Port=…;Username=postgres\"."),
            };
            databaseName = $"parley_bench_{Guid.NewGuid():N}"[..28];
            builder["Database"] = databaseName;
            environment["Database__Provider"] = "PostgreSQL";
            environment["ConnectionStrings__Parley"] = builder.ConnectionString;
        }

        foreach (var (key, value) in scenarioEnvironment)
        {
            environment[key] = value;
        }

        foreach (var pair in settings.ExtraEnvironment)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"--server-env expects KEY=VALUE, got '{pair}'.");
            }

            environment[pair[..equals]] = pair[(equals + 1)..];
        }

        if (settings.Probe)
        {
            environment["DOTNET_STARTUP_HOOKS"] = Path.Combine(AppContext.BaseDirectory, "Parley.Bench.Probe.dll");
            environment["PARLEY_BENCH_PROBE_FILE"] = probePath;
        }

        return environment;
    }
}
