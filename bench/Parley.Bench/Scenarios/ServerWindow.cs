using System.Diagnostics;
using Parley.Bench.Client;
using Parley.Bench.Hosting;
using Parley.Bench.Measurement;

namespace Parley.Bench.Scenarios;

/// <summary>
/// Server-side figures over a measured window: engine counters from <c>/diagnostics/engine</c> (group-commit batch size,
/// context hits), CPU of the server and of this load generator, and (self-hosted, with the probe) the server's GC
/// collections, lock contentions and allocations.
/// </summary>
internal sealed class ServerWindow(Target target, ParleyClient client, string? command = null, TimeSpan? window = null) : IAsyncDisposable
{
    private Process? _command;
    private EngineDiagnostics? _diagStart, _diagEnd;
    private ProbeSample? _probeStart, _probeEnd;
    private TimeSpan _serverCpuStart, _serverCpuEnd, _clientCpuStart, _clientCpuEnd;
    private long _start, _end;

    public EngineDiagnostics? End => _diagEnd;

    public async Task OnWindowAsync(bool start)
    {
        var diagnostics = await TryDiagnosticsAsync();
        var probe = target.Server?.ReadProbe();
        var serverCpu = target.Server?.CpuTime() ?? TimeSpan.Zero;
        var clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
        if (start && command is not null && target.Server?.Pid is { } pid)
        {
            _command = StartCommand(command, pid, window ?? TimeSpan.FromSeconds(10));
        }

        if (start)
        {
            (_diagStart, _probeStart, _serverCpuStart, _clientCpuStart, _start) = (diagnostics, probe, serverCpu, clientCpu, Stopwatch.GetTimestamp());
        }
        else
        {
            (_diagEnd, _probeEnd, _serverCpuEnd, _clientCpuEnd, _end) = (diagnostics, probe, serverCpu, clientCpu, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Adds the window's server figures; <paramref name="operations"/> (of the window) scales the per-operation ones.</summary>
    public void AddTo(Report report, long operations, string per)
    {
        var seconds = Stopwatch.GetElapsedTime(_start, _end).TotalSeconds;
        if (seconds <= 0)
        {
            return;
        }

        if (target.Server is not null)
        {
            report.Add("server_cpu", (_serverCpuEnd - _serverCpuStart).TotalSeconds / seconds, "server CPU (cores busy)", 2);
        }

        report.Add("client_cpu", (_clientCpuEnd - _clientCpuStart).TotalSeconds / seconds, "load generator CPU (cores busy)", 2);
        if (_diagStart is { } a && _diagEnd is { } b)
        {
            var batches = b.CommitBatches - a.CommitBatches;
            var commits = b.CommitOperations - a.CommitOperations;
            report.Add("mean_batch", batches > 0 ? (double)commits / batches : 0, "group commit: mean operations per transaction", 2);
            report.Add("commits_per_s", batches / seconds, "group commit: transactions per second", 0);
            report.Add("context_misses", b.Engine.ContextMisses - a.Engine.ContextMisses, "context misses (loads) in the window");
            report.Add("conflicts", b.Engine.Conflicts - a.Engine.Conflicts, "version conflicts in the window");
        }

        if (_probeStart is { } p && _probeEnd is { } q && operations > 0)
        {
            var probeSeconds = ProbeSample.Delta(p, q, "time_ms") / 1000;
            var perThousand = 1000.0 / operations * (seconds / Math.Max(probeSeconds, 1e-3)); // align the probe's interval to the window
            report.Add("gen0_per_1k", ProbeSample.Delta(p, q, "gen0") * perThousand, $"server gen0 GCs per 1,000 {per}", 2);
            report.Add("gen1_per_1k", ProbeSample.Delta(p, q, "gen1") * perThousand, $"server gen1 GCs per 1,000 {per}", 2);
            report.Add("gen2", (long)ProbeSample.Delta(p, q, "gen2"), "server gen2 GCs in the window");
            report.Add("gc_pause_pct", ProbeSample.Delta(p, q, "pause_ms") / 10 / Math.Max(probeSeconds, 1e-3), "server GC pause (% of wall time)", 2);
            report.Add("alloc_kb_per_op", ProbeSample.Delta(p, q, "allocated") / 1024 * perThousand / 1000, $"server allocations (KB per {per[..^1]})", 1);
            report.Add("contentions_per_s", ProbeSample.Delta(p, q, "contentions") / Math.Max(probeSeconds, 1e-3), "server lock contentions per second", 1);
            report.Add("threads", (long)q["tp_threads"], "server thread-pool threads at the end");
            report.Add("jit_pct", ProbeSample.Delta(p, q, "jit_ms") / 10 / Math.Max(probeSeconds, 1e-3), "server JIT time (% of one core; tier-up still running if high)", 1);
            report.Add("jit_methods", (long)ProbeSample.Delta(p, q, "jit_methods"), "methods JIT-compiled in the window");
        }
    }

    /// <summary>
    /// Runs <paramref name="command"/> through <c>/bin/sh -c</c> with <c>{pid}</c> (the server) and <c>{seconds}</c>
    /// (the window, whole seconds) substituted, e.g. a profiler attached for the measured window.
    /// </summary>
    private static Process StartCommand(string command, int pid, TimeSpan window)
    {
        var text = command.Replace("{pid}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{seconds}", ((int)Math.Ceiling(window.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(text);
        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start: {text}");
    }

    /// <summary>Waits for the window command (at most its window plus two minutes), then kills it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_command is not { } process)
        {
            return;
        }

        using var timeout = new CancellationTokenSource((window ?? TimeSpan.FromSeconds(10)) + TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }

        process.Dispose();
    }

    private async Task<EngineDiagnostics?> TryDiagnosticsAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await client.GetDiagnosticsAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
