using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Parley.Testing;

namespace Parley.Topology;

/// <summary>
/// nginx as a plain child process on loopback, configured by the repository's own <c>deploy/nginx/parley.conf</c>
/// rendered for this machine (<see cref="Render"/>): the same routing, proxy and SSE settings as in production, with the
/// node list and the listen port swapped in. Its access log (the file's <c>parley</c> format, written to stdout) is kept
/// in <see cref="AccessLog"/>, so a test can see where each request was routed.
/// </summary>
internal sealed partial class NginxProcess : IAsyncDisposable
{
    /// <summary>Environment variable that overrides where the nginx binary is looked up.</summary>
    public const string BinaryVariable = "PARLEY_NGINX";

    private const string NodesBegin = "# BEGIN parley nodes";
    private const string NodesEnd = "# END parley nodes";
    private const string ListenLine = "listen 8080;";

    private readonly Process _process;
    private readonly string _directory;
    private readonly ConcurrentQueue<AccessLogEntry> _accessLog = new();
    private readonly ConcurrentQueue<string> _otherOutput = new();

    private NginxProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
    }

    /// <summary>nginx's address, <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Every request nginx logged so far.</summary>
    public IReadOnlyCollection<AccessLogEntry> AccessLog => _accessLog;

    /// <summary>nginx's error log and any stdout line that is not an access log entry (for failure messages).</summary>
    public string Diagnostics
    {
        get
        {
            var errorLog = Path.Combine(_directory, "error.log");
            var errors = File.Exists(errorLog) ? File.ReadAllText(errorLog) : "";
            return string.Join('\n', _otherOutput) + "\n" + (errors.Length > 20_000 ? errors[^20_000..] : errors);
        }
    }

    /// <summary>The nginx binary: <c>$PARLEY_NGINX</c>, else <c>nginx</c> on the PATH or in <c>/usr/sbin</c>; null when absent.</summary>
    public static string? FindBinary()
    {
        var configured = Environment.GetEnvironmentVariable(BinaryVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? configured : null;
        }

        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return path.Append("/usr/sbin").Append("/usr/local/sbin")
            .Select(directory => Path.Combine(directory, "nginx"))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Renders <c>deploy/nginx/parley.conf</c> for loopback: the lines between <c># BEGIN parley nodes</c> and
    /// <c># END parley nodes</c> become one <c>server 127.0.0.1:{port}</c> line per node, and <c>listen 8080;</c>
    /// becomes <c>listen 127.0.0.1:{listenPort};</c>. Everything else is kept byte for byte.
    /// </summary>
    /// <exception cref="InvalidOperationException">The template lost a marker or its listen line (fix the template and this together).</exception>
    public static string Render(string template, int listenPort, IEnumerable<int> nodePorts, TimeSpan failTimeout)
    {
        var begin = template.IndexOf(NodesBegin, StringComparison.Ordinal);
        var end = template.IndexOf(NodesEnd, StringComparison.Ordinal);
        if (begin < 0 || end < begin)
        {
            throw new InvalidOperationException($"parley.conf must keep the '{NodesBegin}' and '{NodesEnd}' markers around its node list.");
        }

        if (ListenLineRegex().Matches(template).Count != 1)
        {
            throw new InvalidOperationException($"parley.conf must have exactly one '{ListenLine}' line.");
        }

        var lineStart = template.LastIndexOf('\n', begin) + 1;
        var indent = template[lineStart..begin];
        var lineEnd = template.IndexOf('\n', end);
        var servers = new StringBuilder();
        servers.Append(indent).Append(NodesBegin).Append(" (rendered by tests/Parley.Topology)\n");
        foreach (var port in nodePorts)
        {
            servers.Append(CultureInfo.InvariantCulture,
                $"{indent}server 127.0.0.1:{port} max_fails=1 fail_timeout={(int)failTimeout.TotalSeconds}s;\n");
        }

        servers.Append(indent).Append(NodesEnd);
        var rendered = string.Concat(template.AsSpan(0, lineStart), servers.ToString(), template.AsSpan(lineEnd < 0 ? template.Length : lineEnd));
        return ListenLineRegex().Replace(rendered, $"${{indent}}listen 127.0.0.1:{listenPort.ToString(CultureInfo.InvariantCulture)};");
    }

    /// <summary>Renders the template, checks it with <c>nginx -t</c>, starts nginx and waits until it answers.</summary>
    public static async Task<NginxProcess> StartAsync(string binary, string templatePath, IReadOnlyList<int> nodePorts, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("parley-nginx-").FullName;
        // When run as root nginx's workers switch to 'nobody': they must be able to enter the directory (nginx itself
        // creates the temp directories inside it and hands them to the workers).
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        }
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var rendered = Render(await File.ReadAllTextAsync(templatePath, cancellationToken), port, nodePorts, TimeSpan.FromSeconds(2));
            await File.WriteAllTextAsync(Path.Combine(directory, "parley.conf"), rendered, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory, "nginx.conf"), MainConfig(directory), cancellationToken);
            await RunAsync(binary, ["-t", "-q", "-p", directory, "-c", Path.Combine(directory, "nginx.conf")], cancellationToken);

            var start = new ProcessStartInfo(binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "-p", directory, "-c", Path.Combine(directory, "nginx.conf"), "-g", "daemon off;" })
            {
                start.ArgumentList.Add(argument);
            }

            var nginx = new NginxProcess(new Process { StartInfo = start }, directory, port);
            nginx._process.Start();
            nginx._process.BeginOutputReadLine();
            nginx._process.BeginErrorReadLine();
            if (await nginx.WaitUntilAnsweringAsync(cancellationToken))
            {
                return nginx;
            }

            var diagnostics = nginx.Diagnostics;
            await nginx.StopAsync();
            if (attempt == 3)
            {
                throw new InvalidOperationException($"nginx did not start on 127.0.0.1:{port}:\n{diagnostics}");
            }
        }
    }

    /// <summary>The main configuration around parley.conf: what a distribution's /etc/nginx/nginx.conf provides, in a temp directory.</summary>
    private static string MainConfig(string directory) => $$"""
        worker_processes 2;
        error_log {{directory}}/error.log warn;
        pid {{directory}}/nginx.pid;
        events {
            worker_connections 4096;
        }
        http {
            default_type application/octet-stream;
            client_body_temp_path {{directory}}/client_body;
            proxy_temp_path {{directory}}/proxy;
            fastcgi_temp_path {{directory}}/fastcgi;
            uwsgi_temp_path {{directory}}/uwsgi;
            scgi_temp_path {{directory}}/scgi;
            include {{directory}}/parley.conf;
        }

        """;

    private async Task<bool> WaitUntilAnsweringAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        for (var attempt = 0; attempt < 100 && !_process.HasExited; attempt++)
        {
            try
            {
                using var response = await http.GetAsync(new Uri("nginx-healthz", UriKind.Relative), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, cancellationToken);
        }

        return false;
    }

    private static async Task RunAsync(string binary, string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(deadline.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"nginx {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}{await errors}");
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (AccessLogEntry.TryParse(line, out var entry))
        {
            _accessLog.Enqueue(entry);
        }
        else if (_otherOutput.Count < 200)
        {
            _otherOutput.Enqueue(line);
        }
    }

    /// <summary>Stops nginx (master and workers) and deletes its directory.</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException)
        {
            // Gone or stuck; either way the directory goes.
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a temporary directory.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }

    [GeneratedRegex(@"(?m)^(?<indent>[ \t]*)listen 8080;")]
    private static partial Regex ListenLineRegex();
}

/// <summary>One line of the <c>parley</c> access log format of deploy/nginx/parley.conf.</summary>
/// <param name="Path">The request path (without the query string).</param>
/// <param name="Status">The status nginx answered with.</param>
/// <param name="Conversation">The hash key, <c>$parley_conversation</c> ("" when the request has no conversation id).</param>
/// <param name="Upstream">The node that answered last (<c>$upstream_addr</c> lists every node tried), or "" when none.</param>
/// <param name="Time">When nginx logged it (whole seconds).</param>
internal sealed partial record AccessLogEntry(string Path, int Status, string Conversation, string Upstream, DateTimeOffset Time)
{
    public static bool TryParse(string line, out AccessLogEntry entry)
    {
        var match = LineRegex().Match(line);
        if (!match.Success)
        {
            entry = null!;
            return false;
        }

        var upstream = match.Groups["upstream"].Value.Split(',', StringSplitOptions.TrimEntries)[^1];
        entry = new AccessLogEntry(
            match.Groups["path"].Value.Split('?')[0],
            int.Parse(match.Groups["status"].Value, CultureInfo.InvariantCulture),
            match.Groups["conversation"].Value,
            upstream is "-" ? "" : upstream,
            DateTimeOffset.Parse(match.Groups["time"].Value, CultureInfo.InvariantCulture));
        return true;
    }

    [GeneratedRegex("""^\S+ \[(?<time>[^\]]+)\] "\S+ (?<path>\S+) [^"]*" (?<status>\d{3}) \d+ conversation="(?<conversation>[^"]*)" upstream="(?<upstream>[^"]*)" """)]
    private static partial Regex LineRegex();
}
