using System.Diagnostics;
using System.Globalization;

namespace Parley.Testing;

/// <summary>
/// The real Parley server (the built <c>Parley.Server.dll</c>) as a child process on 127.0.0.1: started with the
/// environment variables you give it (<c>Section__Key</c> syntax) and the working directory — hence the content root —
/// <c>src/Parley.Server</c>, and ready once <c>GET /readyz</c> answers 200. Stop it gracefully with
/// <see cref="StopAsync"/> or crash it with <see cref="Kill"/> (SIGKILL, like <c>kill -9</c>).
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

    private const int OutputLines = 500;
    private static readonly Lock LogGate = new();
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
    }

    /// <summary>The server's address, <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>The process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The last 500 lines the server wrote to stdout and stderr (for failure messages).</summary>
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

    /// <summary>
    /// Starts the server and waits until <c>GET /readyz</c> answers 200.
    /// </summary>
    /// <param name="environment">Environment variables for the server (null values remove inherited ones), e.g.
    /// <c>Parley__DataDirectory</c>, <c>Database__Provider</c>, <c>ConnectionStrings__Parley</c>, <c>Engine__NodeId</c>.</param>
    /// <param name="port">The port to listen on; when 0, a <see cref="FreePort"/> (and another one if that was taken meanwhile).</param>
    /// <param name="startTimeout">How long to wait for readiness; 60 seconds when null.</param>
    /// <param name="cancellationToken">Cancels the wait (the process is then killed).</param>
    /// <returns>The running server; dispose it to kill it.</returns>
    /// <exception cref="InvalidOperationException">The server exited or did not become ready in time (the message holds its output).</exception>
    public static async Task<ServerProcess> StartAsync(
        IReadOnlyDictionary<string, string?> environment,
        int port = 0,
        TimeSpan? startTimeout = null,
        CancellationToken cancellationToken = default)
    {
        var dll = LocateServerDll();
        for (var attempt = 1; ; attempt++)
        {
            var server = Launch(dll, port == 0 ? FreePort.Next() : port, environment);
            try
            {
                await server.WaitUntilReadyAsync(startTimeout ?? TimeSpan.FromSeconds(60), cancellationToken);
                return server;
            }
            catch (InvalidOperationException) when (port == 0 && attempt < 3 && server.HasExited
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

    private static ServerProcess Launch(string dll, int port, IReadOnlyDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = ContentRoot(dll),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        // Every server gets its own silo and gateway ports (and cluster id) unless the caller chose them: two silos on
        // one host must never share ports, and a test run starts many.
        start.Environment["Cluster__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        start.Environment["Cluster__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        start.Environment["Cluster__ClusterId"] = "test-" + Guid.NewGuid().ToString("N")[..12];
        foreach (var (name, value) in environment)
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

        var server = new ServerProcess(new Process { StartInfo = start }, port);
        server._process.Start();
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        return server;
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
        var root = new DirectoryInfo(here);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Parley.slnx")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new FileNotFoundException($"No Parley.slnx above {here}; set ${ServerDllVariable}.");
        }

        var ownConfiguration = here.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var candidates = new[] { ownConfiguration, ownConfiguration == "Debug" ? "Release" : "Debug" }
            .Select(configuration => Path.Combine(root.FullName, "src", "Parley.Server", "bin", configuration, "net10.0", "Parley.Server.dll"));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("Parley.Server is not built: run 'dotnet build src/Parley.Server'.", candidates.First());
    }

    /// <summary>The project directory for a build output (<c>src/Parley.Server/bin/Debug/net10.0</c>), else the dll's own directory (a publish output).</summary>
    private static string ContentRoot(string dll)
    {
        var directory = Path.GetDirectoryName(dll)!;
        var project = Path.GetFullPath(Path.Combine(directory, "..", "..", ".."));
        return File.Exists(Path.Combine(project, "Parley.Server.csproj")) ? project : directory;
    }

    /// <summary>Kills the process with SIGKILL (no shutdown code runs, like a crash or <c>kill -9</c>) and waits until it is gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }

        _process.WaitForExit();
    }

    /// <summary>Asks the server to shut down (SIGTERM, as systemd or Kubernetes would) and waits; kills it if it takes longer than <paramref name="timeout"/>.</summary>
    /// <param name="timeout">Grace period; 30 seconds when null.</param>
    /// <returns>The exit code.</returns>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            try
            {
                await Command.RunAsync("kill", ["-TERM", ProcessId.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // It exited in between.
            }

            using var grace = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                Kill();
            }
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Kills the process if it is still running and releases it.</summary>
    public ValueTask DisposeAsync()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                throw new InvalidOperationException($"Parley.Server exited with {_process.ExitCode} before it was ready. Output:\n{Output}");
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
                await Task.Delay(100, deadline.Token);
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

        if (Environment.GetEnvironmentVariable("PARLEY_SERVER_LOG") is { Length: > 0 } log)
        {
            lock (LogGate)
            {
                File.AppendAllText(log, $"{BaseAddress.Port.ToString(CultureInfo.InvariantCulture)} {DateTime.UtcNow:HH:mm:ss.fff} {line}\n");
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
