using System.Diagnostics;
using System.Globalization;

#pragma warning disable CA1050 // The runtime looks the hook up as "StartupHook" outside any namespace.

/// <summary>
/// A .NET startup hook (<c>DOTNET_STARTUP_HOOKS</c>) the benchmark injects into a self-hosted server, so the server's own
/// runtime counters can be read without changing the server: every 100 ms it writes one line of
/// <c>key=value</c> pairs (GC collections per generation, lock contentions, allocated bytes, GC pause time, thread-pool
/// figures, JIT time) to the file named by <c>PARLEY_BENCH_PROBE_FILE</c>, replacing the previous line atomically.
/// </summary>
public static class StartupHook
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(100);

    /// <summary>Called by the runtime before the server's <c>Main</c>.</summary>
    public static void Initialize()
    {
        var path = Environment.GetEnvironmentVariable("PARLEY_BENCH_PROBE_FILE");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        new Thread(() => Run(path)) { IsBackground = true, Name = "parley-bench-probe" }.Start();
    }

    private static void Run(string path)
    {
        var temporary = path + ".tmp";
        while (true)
        {
            try
            {
                File.WriteAllText(temporary, Sample());
                File.Move(temporary, path, overwrite: true);
            }
            catch (IOException)
            {
                // The data directory is going away with the process; nothing to report.
            }

            Thread.Sleep(Period);
        }
    }

    private static string Sample()
    {
        var memory = GC.GetGCMemoryInfo();
        return string.Create(CultureInfo.InvariantCulture,
            $"time_ms={Stopwatch.GetElapsedTime(0).TotalMilliseconds:F0} gen0={GC.CollectionCount(0)} gen1={GC.CollectionCount(1)} gen2={GC.CollectionCount(2)} " +
            $"contentions={Monitor.LockContentionCount} allocated={GC.GetTotalAllocatedBytes(false)} pause_ms={GC.GetTotalPauseDuration().TotalMilliseconds:F1} " +
            $"tp_completed={ThreadPool.CompletedWorkItemCount} tp_threads={ThreadPool.ThreadCount} tp_queue={ThreadPool.PendingWorkItemCount} " +
            $"heap={memory.HeapSizeBytes} working_set={Environment.WorkingSet} cpu_ms={Environment.CpuUsage.TotalTime.TotalMilliseconds:F0} " +
            $"jit_ms={System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0} jit_methods={System.Runtime.JitInfo.GetCompiledMethodCount()}\n");
    }
}
