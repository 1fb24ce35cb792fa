using System.Diagnostics;

namespace Parley.Bench.Measurement;

/// <summary>What one closed-loop run measured.</summary>
/// <param name="Operations">Operations started inside the measured window (after the warm-up) and finished.</param>
/// <param name="Seconds">The measured window.</param>
/// <param name="Latencies">Latencies of the operations of the window (client clock, successes and failures alike).</param>
/// <param name="Errors">Failed operations of the window.</param>
/// <param name="WarmupErrors">Failed operations of the warm-up.</param>
/// <param name="WarmupOperations">Operations of the warm-up.</param>
internal sealed record LoadResult(long Operations, double Seconds, LatencySummary Latencies, ErrorTally Errors, ErrorTally WarmupErrors, long WarmupOperations)
{
    public double PerSecond => Seconds > 0 ? Operations / Seconds : 0;

    /// <summary>Every error, warm-up included: nothing is skipped.</summary>
    public long AllErrors => Errors.Total + WarmupErrors.Total;
}

/// <summary>
/// A closed loop: each of N workers runs one operation after another (no think time) for a warm-up and then a measured
/// window. Every operation started inside the window is measured to its end, even when it ends after the window; its
/// latency is taken on the client's clock around the whole call. An operation returns null on success or an error kind.
/// </summary>
internal static class LoadLoop
{
    /// <summary>Pause after a failed operation so a dead server does not turn the loop into a spin.</summary>
    private static readonly TimeSpan ErrorPause = TimeSpan.FromMilliseconds(10);

    /// <param name="workers">Concurrent workers.</param>
    /// <param name="warmup">Unmeasured time first.</param>
    /// <param name="duration">The measured window.</param>
    /// <param name="operation">(worker index, token) → null or an error kind.</param>
    /// <param name="onWindow">Called with true when the measured window begins and with false when it ends (e.g. to read server counters).</param>
    /// <param name="cancellationToken">Stops the run.</param>
    public static async Task<LoadResult> RunAsync(
        int workers,
        TimeSpan warmup,
        TimeSpan duration,
        Func<int, CancellationToken, ValueTask<string?>> operation,
        Func<bool, Task>? onWindow,
        CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var measureStart = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var measureEnd = measureStart + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var logs = new LatencyLog[workers];
        var errors = new ErrorTally();
        var warmupErrors = new ErrorTally();
        long warmupOperations = 0;

        async Task Worker(int index)
        {
            await Task.Yield();
            var log = logs[index] = new LatencyLog(16 * 1024);
            long warm = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                var begin = Stopwatch.GetTimestamp();
                if (begin >= measureEnd)
                {
                    break;
                }

                string? error;
                try
                {
                    error = await operation(index, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    error = ErrorTally.Classify(ex) + ": " + ex.Message;
                }

                var end = Stopwatch.GetTimestamp();
                var measured = begin >= measureStart;
                if (measured)
                {
                    log.Add(end - begin);
                }
                else
                {
                    warm++;
                }

                if (error is not null)
                {
                    var colon = error.IndexOf(':', StringComparison.Ordinal);
                    (measured ? errors : warmupErrors).Add(colon > 0 ? error[..colon] : error, colon > 0 ? error[(colon + 1)..].Trim() : null);
                    await Task.Delay(ErrorPause, cancellationToken);
                }
            }

            Interlocked.Add(ref warmupOperations, warm);
        }

        var tasks = new Task[workers];
        for (var i = 0; i < workers; i++)
        {
            tasks[i] = Worker(i);
        }

        if (onWindow is not null)
        {
            await DelayUntilAsync(measureStart, cancellationToken);
            await onWindow(true);
            await DelayUntilAsync(measureEnd, cancellationToken);
            await onWindow(false);
        }

        await Task.WhenAll(tasks);
        var seconds = duration.TotalSeconds;
        var latencies = LatencySummary.From(logs.Where(l => l is not null));
        return new LoadResult(latencies.Count, seconds, latencies, errors, warmupErrors, warmupOperations);
    }

    private static async Task DelayUntilAsync(long timestamp, CancellationToken cancellationToken)
    {
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken);
        }
    }
}
