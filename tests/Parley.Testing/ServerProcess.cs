using System.Diagnostics;
using System.Globalization;

namespace Parley.Testing;

/// <summary>
/// The real Parley server (the built <c>Parley.Server.dll</c>) as a child process on 127.0.0.1, the one way tests and
/// the benchmark start it: started with the environment variables you give it (<c>Section__Key</c> syntax), ready once
/// <c>GET /readyz</c> answers 200, stopped by its pid — gracefully with <see cref="StopAsync"/> (SIGTERM) or as a crash
/// with <see cref="Kill"/> (SIGKILL) — and startable again on the same port with <see cref="RestartAsync"/>.
/// </summary>
/// <example>
/// <code>
/// await using var server = await ServerProcess.StartAsync(new Dictionary&lt;string, string?&gt;
/// {
///     ["Parley__DataDirectory"] = dataDirectory,
///     ["RateLimits__Enabled"] = "false",
/// });
/// using var http = new HttpClient { BaseAddress = server.BaseAddress };
/// </code>
/// </example>
public sealed class ServerProcess : IAsyncDisposable
{
    /// <summary>Environment variable that overrides where <see cref="LocateServerDll"/> finds <c>Parley.Server.dll</c>.</summary>
    public const string ServerDllVariable = "PARLEY_SERVER_DLL";

    /// <summary>Environment variable naming a file that every started server's output is appended to (port-prefixed).</summary>
    public const string SharedLogVariable = "PARLEY_SERVER_LOG";

    private const int OutputLines = 500;
    private static readonly Lock SharedLogGate = new();
    private readonly ServerOptions _options;
    private readonly string _dll;
    private readonly Queue<string> _output = new();
    private readonly Lock _outputFileGate = new();
    private Process? _process;

    private ServerProcess(ServerOptions options, string dll, int port)
    {
        _options = options;
        _dll = dll;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
    }

    /// <summary>The server's address, <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The port it listens on (kept across <see cref="RestartAsync"/>).</summary>
    public int Port { get; }

    /// <summary>The process id of the current run.</summary>
    /// <exception cref="InvalidOperationException">It has not been started.</exception>
    public int ProcessId => (_process ?? throw new InvalidOperationException("The server has not been started.")).Id;

    /// <summary>True once the current run's process has exited (or when stopped).</summary>
    public bool HasExited => _process is not { HasExited: false };

    /// <summary>Time from the last process start to the first <c>/readyz</c> 200.</summary>
    public TimeSpan ReadyAfter { get; private set; }

    /// <summary>The last 500 lines the server wrote to stdout and stderr, over all its runs (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>Starts the server with <paramref name="environment"/> and waits until <c>GET /readyz</c> answers 200.</summary>
    /// <param name="environment">See <see cref="ServerOptions.Environment"/>.</param>
    /// <param name="port">See <see cref="ServerOptions.Port"/>.</param>
    /// <param name="startTimeout">How long to wait for readiness; 60 seconds when null.</param>
    /// <param name="cancellationToken">Cancels the wait (the process is then killed).</param>
    /// <returns>The running server; dispose it to kill it.</returns>
    /// <exception cref="ServerExitedException">The server exited before it was ready.</exception>
    /// <exception cref="InvalidOperationException">The server did not become ready in time (the message holds its output).</exception>
    public static Task<ServerProcess> StartAsync(
        IReadOnlyDictionary<string, string?> environment,
        int port = 0,
        TimeSpan? startTimeout = null,
        CancellationToken cancellationToken = default)
    {
        var options = new ServerOptions { Environment = environment, Port = port };
        return StartAsync(startTimeout is { } timeout ? options with { StartTimeout = timeout } : options, cancellationToken);
    }

    /// <summary>Starts the server as <paramref name="options"/> say and waits until <c>GET /readyz</c> answers 200.</summary>
    /// <param name="options">What to run, where and with which environment.</param>
    /// <param name="cancellationToken">Cancels the wait (the process is then killed).</param>
    /// <returns>The running server; dispose it to kill it.</returns>
    /// <exception cref="ServerExitedException">The server exited before it was ready.</exception>
    /// <exception cref="InvalidOperationException">The server did not become ready in time (the message holds its output).</exception>
    public static async Task<ServerProcess> StartAsync(ServerOptions options, CancellationToken cancellationToken = default)
    {
        var dll = options.ServerDll ?? LocateServerDll();
        for (var attempt = 1; ; attempt++)
        {
            var server = new ServerProcess(options, dll, options.Port == 0 ? FreePort.Next() : options.Port);
            try
            {
                await server.RestartAsync(cancellationToken);
                return server;
            }
            catch (InvalidOperationException) when (options.Port == 0 && attempt < 3 && server.HasExited
                && server.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // Another process took the free port between FreePort and the bind: try another one.
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// Starts the process again (same dll, port and environment; new silo ports) after <see cref="StopAsync"/> or
    /// <see cref="Kill"/>, and waits until <c>GET /readyz</c> answers 200.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait (the process keeps running; dispose to kill it).</param>
    /// <returns>Time from process start to the first <c>/readyz</c> 200 (<see cref="ReadyAfter"/>).</returns>
    /// <exception cref="InvalidOperationException">It is running already, or exited or was not ready in time.</exception>
    public async Task<TimeSpan> RestartAsync(CancellationToken cancellationToken = default)
    {
        if (!HasExited)
        {
            throw new InvalidOperationException("The server is already running.");
        }

        _process?.Dispose();
        var clock = Stopwatch.StartNew();
        _process = Launch();
        await WaitUntilReadyAsync(_process, clock, cancellationToken);
        ReadyAfter = clock.Elapsed;
        return ReadyAfter;
    }

    /// <summary>
    /// Finds the built server: <c>$PARLEY_SERVER_DLL</c> when set, else <c>src/Parley.Server/bin/{Debug|Release}/net10.0/Parley.Server.dll</c>
    /// of the repository containing this assembly (the configuration this assembly was built in first).
    /// </summary>
    /// <exception cref="FileNotFoundException">It has not been built.</exception>
    public static string LocateServerDll()
    {
        var configured = Environment.GetEnvironmentVariable(ServerDllVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? Path.GetFullPath(configured) : throw new FileNotFoundException($"${ServerDllVariable} points to a missing file.", configured);
        }

        var here = AppContext.BaseDirectory;
        var root = Repository.FindRoot(here) ?? throw new FileNotFoundException($"No {Repository.Marker} above {here}; set ${ServerDllVariable}.");
        var ownConfiguration = here.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var candidates = new[] { ownConfiguration, ownConfiguration == "Debug" ? "Release" : "Debug" }
            .Select(configuration => BuildOutput(root, configuration));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("Parley.Server is not built: run 'dotnet build src/Parley.Server'.", candidates.First());
    }

    /// <summary>Where <c>dotnet build -c <paramref name="configuration"/></c> puts <c>Parley.Server.dll</c> in the repository at <paramref name="root"/>.</summary>
    public static string BuildOutput(string root, string configuration) =>
        Path.Combine(root, "src", "Parley.Server", "bin", configuration, "net10.0", "Parley.Server.dll");

    /// <summary>Kills the process with SIGKILL (no shutdown code runs, like a crash or <c>kill -9</c>) and waits until it is gone.</summary>
    public void Kill()
    {
        if (_process is not { } process)
        {
            return;
        }

        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: false);
        }

        process.WaitForExit();
    }

    /// <summary>Asks the server to shut down (SIGTERM, as systemd or Kubernetes would) and waits; kills it if it takes longer than <paramref name="timeout"/>.</summary>
    /// <param name="timeout">Grace period; 30 seconds when null.</param>
    /// <returns>The exit code (137 after a kill).</returns>
    /// <exception cref="InvalidOperationException">It has not been started.</exception>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        var process = _process ?? throw new InvalidOperationException("The server has not been started.");
        if (!process.HasExited)
        {
            if (!Signals.Terminate(process.Id))
            {
                Kill();
            }

            using var grace = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                Record($"[{nameof(ServerProcess)}] pid {process.Id} did not stop within {timeout ?? TimeSpan.FromSeconds(30)} of SIGTERM; killing it");
                Kill();
            }
        }

        process.WaitForExit(); // flush the asynchronous output readers
        return process.ExitCode;
    }

    /// <summary>The current run's CPU time so far (user + system), or zero when it is not running.</summary>
    public TimeSpan CpuTime()
    {
        if (_process is not { HasExited: false } process)
        {
            return TimeSpan.Zero;
        }

        try
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
        catch (InvalidOperationException)
        {
            return TimeSpan.Zero; // exited in between
        }
    }

    /// <summary>Kills the process if it is still running and releases it.</summary>
    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        _process = null;
        return ValueTask.CompletedTask;
    }

    private Process Launch()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = _options.WorkingDirectory ?? Path.GetDirectoryName(_dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(_dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}");
        // Every server gets its own silo and gateway ports (and cluster id) unless the caller chose them: two silos on
        // one host must never share ports, and a test run starts many.
        start.Environment["Cluster__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        start.Environment["Cluster__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        start.Environment["Cluster__ClusterId"] = "test-" + Guid.NewGuid().ToString("N")[..12];
        foreach (var (name, value) in _options.Environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitUntilReadyAsync(Process process, Stopwatch clock, CancellationToken cancellationToken)
    {
        var timeout = _options.StartTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout - clock.Elapsed);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(5),
        };
        while (true)
        {
            if (process.HasExited)
            {
                process.WaitForExit();
                throw new ServerExitedException(process.ExitCode, Output);
            }

            try
            {
                using var response = await http.GetAsync(new Uri("readyz", UriKind.Relative), deadline.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!deadline.IsCancellationRequested)
            {
                // That probe timed out; try again.
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(_options.ReadinessPollInterval, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        throw new InvalidOperationException($"Parley.Server was not ready on {BaseAddress} within {timeout}. Output:\n{Output}");
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (Environment.GetEnvironmentVariable(SharedLogVariable) is { Length: > 0 } shared)
        {
            lock (SharedLogGate)
            {
                File.AppendAllText(shared, $"{Port.ToString(CultureInfo.InvariantCulture)} {DateTime.UtcNow:HH:mm:ss.fff} {line}\n");
            }
        }

        if (_options.OutputFile is { } file)
        {
            lock (_outputFileGate)
            {
                File.AppendAllText(file, line + "\n");
            }
        }

        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > OutputLines)
            {
                _output.Dequeue();
            }
        }
    }
}
