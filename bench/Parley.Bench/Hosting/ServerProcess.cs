using System.Data.Common;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Spectre.Console;

namespace Parley.Bench.Hosting;

/// <summary>How to self-host the server: where the build is, which database, extra settings.</summary>
internal sealed class SelfHostSettings
{
    /// <summary>The repository root (holds <c>Parley.slnx</c>).</summary>
    public required string RepoRoot { get; init; }

    /// <summary>The built <c>Parley.Server.dll</c>.</summary>
    public required string ServerDll { get; init; }

    /// <summary><c>sqlite</c> or <c>postgresql</c>.</summary>
    public string Provider { get; init; } = "sqlite";

    /// <summary>PostgreSQL: the cluster's connection string; each server gets a fresh database on it.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>SQLite <c>synchronous</c> of the turn writer (FULL, the server's default, or NORMAL).</summary>
    public string SqliteSynchronous { get; init; } = "FULL";

    /// <summary>Extra <c>KEY=VALUE</c> environment for the server (win over the scenario's).</summary>
    public IReadOnlyList<string> ExtraEnvironment { get; init; } = [];

    /// <summary>Inject the counter probe (a startup hook) into the server.</summary>
    public bool Probe { get; init; } = true;

    /// <summary>Keep the temporary data directory afterwards.</summary>
    public bool KeepData { get; init; }

    public bool IsPostgreSql => Provider.Equals("postgresql", StringComparison.OrdinalIgnoreCase);

    /// <summary>"&lt;HEAD commit&gt;+&lt;dll time&gt;": which build was measured (others rebuild the shared Release output).</summary>
    public string Build
    {
        get
        {
            var time = File.GetLastWriteTimeUtc(ServerDll).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                var start = new ProcessStartInfo("git") { WorkingDirectory = RepoRoot, RedirectStandardOutput = true, RedirectStandardError = true };
                start.ArgumentList.Add("rev-parse");
                start.ArgumentList.Add("--short");
                start.ArgumentList.Add("HEAD");
                using var git = Process.Start(start);
                var head = git?.StandardOutput.ReadToEnd().Trim();
                git?.WaitForExit(5000);
                return $"{head}+dll@{time}";
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return $"dll@{time}";
            }
        }
    }

    /// <summary>The server's content root (its configuration files and wwwroot), the working directory it is started in.</summary>
    public string ContentRoot => Path.Combine(RepoRoot, "src", "Parley.Server");

    /// <summary>
    /// Finds the repository (from <paramref name="repo"/>, else upwards from the working directory and from this program)
    /// and the server build (<paramref name="serverDll"/>, else the Release build, which is built when missing).
    /// </summary>
    public static async Task<(string RepoRoot, string ServerDll)> LocateAsync(string? repo, string? serverDll, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var root = repo is not null ? Path.GetFullPath(repo) : FindRepoRoot(Environment.CurrentDirectory) ?? FindRepoRoot(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException("Cannot find the Parley repository (Parley.slnx) above the working directory; pass --repo.");
        if (serverDll is not null)
        {
            var dll = Path.GetFullPath(serverDll);
            return File.Exists(dll) ? (root, dll) : throw new FileNotFoundException($"--server-dll {dll} does not exist.");
        }

        var release = Path.Combine(root, "src", "Parley.Server", "bin", "Release", "net10.0", "Parley.Server.dll");
        if (!File.Exists(release))
        {
            console.MarkupLineInterpolated($"[yellow]No Release build of the server at {release}: running dotnet build -c Release src/Parley.Server[/]");
            await BuildAsync(root, cancellationToken);
        }

        return (root, release);
    }

    /// <summary>
    /// Copies the build output next to <paramref name="serverDll"/> into <paramref name="directory"/> and returns the
    /// copied dll: other engineers rebuild the shared output while runs are going, and a restart must start the same build.
    /// </summary>
    public static string Snapshot(string serverDll, string directory)
    {
        var source = Path.GetDirectoryName(serverDll)!;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("wwwroot", StringComparison.Ordinal))
            {
                continue; // served from the content root
            }

            var target = Path.Combine(directory, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }

        return Path.Combine(directory, Path.GetFileName(serverDll));
    }

    private static string? FindRepoRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Parley.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    private static async Task BuildAsync(string root, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "build", "-c", "Release", Path.Combine("src", "Parley.Server", "Parley.Server.csproj"), "-nologo", "-v", "q" })
        {
            start.ArgumentList.Add(argument);
        }

        using var build = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet build.");
        var output = build.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = build.StandardError.ReadToEndAsync(cancellationToken);
        await build.WaitForExitAsync(cancellationToken);
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet build -c Release src/Parley.Server failed ({build.ExitCode}):\n{await output}\n{await errors}");
        }
    }
}

/// <summary>
/// A Parley server run by the benchmark as a child process: the built dll under <c>dotnet</c>, bound to 127.0.0.1 on a
/// free port, with a temporary data directory (SQLite) or a fresh database (PostgreSQL), stopped by its pid (SIGTERM,
/// then a kill). It can be stopped and started again on the same port and data (cold-cache and startup measurements).
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    private readonly SelfHostSettings _settings;
    private readonly Dictionary<string, string> _environment;
    private readonly IAnsiConsole _console;
    private readonly StreamWriter _log;
    private readonly Lock _logGate = new();
    private readonly string _serverDll;
    private Process? _process;

    private ServerProcess(SelfHostSettings settings, IReadOnlyDictionary<string, string> scenarioEnvironment, IAnsiConsole console)
    {
        _settings = settings;
        _console = console;
        Port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{Port}/");
        DataDirectory = Directory.CreateTempSubdirectory("parley-bench-").FullName;
        LogPath = Path.Combine(DataDirectory, "server.log");
        Build = settings.Build;
        _serverDll = SelfHostSettings.Snapshot(settings.ServerDll, Directory.CreateDirectory(Path.Combine(DataDirectory, "build")).FullName);
        ProbePath = Path.Combine(DataDirectory, "probe.txt");
        _log = new StreamWriter(LogPath, append: true) { AutoFlush = true };

        _environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Parley__DataDirectory"] = DataDirectory,
            ["RateLimits__Enabled"] = "false",
            ["Quota__InitialBalance"] = "1000000000",
            ["Jwt__AccessTokenMinutes"] = "1440",
            ["Database__SqliteSynchronous"] = settings.SqliteSynchronous,
            // The co-hosted Orleans silo: its own ports, so a benchmark server never meets another silo on this host.
            ["Cluster__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cluster__GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (settings.IsPostgreSql)
        {
            var builder = new DbConnectionStringBuilder
            {
                ConnectionString = settings.ConnectionString
                    ?? throw new InvalidOperationException("--provider postgresql needs --connection \"Host=127.0.0.1;Port=…;Username=postgres\"."),
            };
            DatabaseName = $"parley_bench_{Guid.NewGuid():N}"[..28];
            builder["Database"] = DatabaseName;
            _environment["Database__Provider"] = "PostgreSQL";
            _environment["ConnectionStrings__Parley"] = builder.ConnectionString;
        }

        foreach (var (key, value) in scenarioEnvironment)
        {
            _environment[key] = value;
        }

        foreach (var pair in settings.ExtraEnvironment)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"--server-env expects KEY=VALUE, got '{pair}'.");
            }

            _environment[pair[..equals]] = pair[(equals + 1)..];
        }

        if (settings.Probe)
        {
            _environment["DOTNET_STARTUP_HOOKS"] = Path.Combine(AppContext.BaseDirectory, "Parley.Bench.Probe.dll");
            _environment["PARLEY_BENCH_PROBE_FILE"] = ProbePath;
        }
    }

    public Uri BaseAddress { get; }

    public int Port { get; }

    /// <summary>Which build runs (see <see cref="SelfHostSettings.Build"/>), taken when the build was copied.</summary>
    public string Build { get; }

    /// <summary>The temporary data directory (SQLite file, signing key, server log, probe file, the copied build).</summary>
    public string DataDirectory { get; }

    public string LogPath { get; }

    private string ProbePath { get; }

    /// <summary>PostgreSQL: the database created for this server.</summary>
    public string? DatabaseName { get; }

    public bool IsSqlite => !_settings.IsPostgreSql;

    /// <summary>The SQLite file (null on PostgreSQL).</summary>
    public string? SqliteDatabase => IsSqlite ? Path.Combine(DataDirectory, "parley.db") : null;

    /// <summary>The running process id.</summary>
    public int? Pid => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>What the server was told (shown in reports).</summary>
    public IReadOnlyDictionary<string, string> Environment => _environment;

    /// <summary>Starts a server and waits until <c>/readyz</c> answers 200.</summary>
    public static async Task<ServerProcess> StartAsync(
        SelfHostSettings settings, IReadOnlyDictionary<string, string> scenarioEnvironment, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var server = new ServerProcess(settings, scenarioEnvironment, console);
        try
        {
            var elapsed = await server.StartAsync(cancellationToken);
            console.MarkupLineInterpolated(
                $"[grey]Self-hosted server pid {server.Pid} on {server.BaseAddress} ({(settings.IsPostgreSql ? $"PostgreSQL database {server.DatabaseName}" : "SQLite")}, data {server.DataDirectory}), ready in {elapsed.TotalMilliseconds:F0} ms[/]");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the process (again) and returns the time from process start to the first <c>/readyz</c> 200, on this clock.</summary>
    public async Task<TimeSpan> StartAsync(CancellationToken cancellationToken)
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("The server is already running.");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = _settings.ContentRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(_serverDll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(BaseAddress.ToString().TrimEnd('/'));
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        using var probe = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(2),
        };
        var clock = Stopwatch.StartNew();
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the server process.");
        _process = process;
        process.OutputDataReceived += (_, e) => Log(e.Data);
        process.ErrorDataReceived += (_, e) => Log(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        while (clock.Elapsed < ReadyTimeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The server exited with code {process.ExitCode} before it was ready. Log {LogPath}:\n{LogTail()}");
            }

            try
            {
                using var response = await probe.GetAsync("readyz", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return clock.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Listening but slow to answer.
            }

            await Task.Delay(5, cancellationToken);
        }

        throw new TimeoutException($"The server was not ready within {ReadyTimeout.TotalSeconds:F0} s. Log {LogPath}:\n{LogTail()}");
    }

    /// <summary>Stops the process: SIGTERM (graceful), then a kill after 20 s.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        try
        {
            if (!process.HasExited)
            {
                if (!Native.Terminate(process.Id))
                {
                    process.Kill();
                }

                using var timeout = new CancellationTokenSource(StopTimeout);
                try
                {
                    await process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    Log($"[bench] pid {process.Id} did not stop within {StopTimeout.TotalSeconds:F0} s of SIGTERM; killing it");
                    process.Kill();
                    await process.WaitForExitAsync(CancellationToken.None);
                }
            }
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>The server's CPU time so far (user + system), or zero when it is not running.</summary>
    public TimeSpan CpuTime()
    {
        if (_process is not { HasExited: false } process)
        {
            return TimeSpan.Zero;
        }

        process.Refresh();
        return process.TotalProcessorTime;
    }

    /// <summary>The probe's latest sample (null without the probe).</summary>
    public ProbeSample? ReadProbe() => _settings.Probe ? ProbeSample.TryRead(ProbePath) : null;

    /// <summary>The last lines of the server's log.</summary>
    public string LogTail(int lines = 40)
    {
        lock (_logGate)
        {
            _log.Flush();
        }

        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException ex)
        {
            return $"(log unreadable: {ex.Message})";
        }
    }

    private void Log(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logGate)
        {
            _log.WriteLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        lock (_logGate)
        {
            _log.Dispose();
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
}
