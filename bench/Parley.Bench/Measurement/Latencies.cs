using System.Diagnostics;

namespace Parley.Bench.Measurement;

/// <summary>One worker's latencies in <see cref="Stopwatch"/> ticks (not thread-safe: one per worker, merged at the end).</summary>
internal sealed class LatencyLog(int capacity = 4096)
{
    private long[] _ticks = new long[capacity];

    public int Count { get; private set; }

    public void Add(long ticks)
    {
        if (Count == _ticks.Length)
        {
            Array.Resize(ref _ticks, _ticks.Length * 2);
        }

        _ticks[Count++] = ticks;
    }

    public ReadOnlySpan<long> Values => _ticks.AsSpan(0, Count);
}

/// <summary>Percentiles of merged latencies (nearest rank), in milliseconds.</summary>
internal sealed class LatencySummary
{
    private readonly long[] _sorted;

    private LatencySummary(long[] sorted) => _sorted = sorted;

    public int Count => _sorted.Length;

    public static LatencySummary From(IEnumerable<LatencyLog> logs)
    {
        var all = new long[logs.Sum(l => l.Count)];
        var at = 0;
        foreach (var log in logs)
        {
            log.Values.CopyTo(all.AsSpan(at));
            at += log.Count;
        }

        Array.Sort(all);
        return new LatencySummary(all);
    }

    public static LatencySummary From(IEnumerable<TimeSpan> values) =>
        new([.. values.Select(v => (long)(v.TotalSeconds * Stopwatch.Frequency)).Order()]);

    /// <summary>The <paramref name="percentile"/>th percentile (0–100) in ms; 0 when empty.</summary>
    public double Percentile(double percentile)
    {
        if (_sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(percentile / 100 * _sorted.Length);
        return ToMs(_sorted[Math.Clamp(rank - 1, 0, _sorted.Length - 1)]);
    }

    public double Max => _sorted.Length == 0 ? 0 : ToMs(_sorted[^1]);

    public double Mean => _sorted.Length == 0 ? 0 : ToMs((long)_sorted.Average());

    public static double ToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>Errors by kind ("http 503", "HttpRequestException", "no assistant event"…), thread-safe.</summary>
internal sealed class ErrorTally
{
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _examples = new(StringComparer.Ordinal);
    private long _total;

    public long Total => Interlocked.Read(ref _total);

    public void Add(string kind, string? example = null)
    {
        Interlocked.Increment(ref _total);
        lock (_counts)
        {
            _counts[kind] = _counts.GetValueOrDefault(kind) + 1;
            if (example is not null)
            {
                _examples.TryAdd(kind, example);
            }
        }
    }

    public void Add(Exception exception) => Add(Classify(exception), exception.Message);

    public static string Classify(Exception exception) => exception switch
    {
        TaskCanceledException or OperationCanceledException => "timeout",
        HttpRequestException { StatusCode: { } status } => $"http {(int)status}",
        HttpRequestException http when http.InnerException is { } inner => $"{nameof(HttpRequestException)}/{inner.GetType().Name}",
        _ => exception.GetType().Name,
    };

    /// <summary>"http 503×3, timeout×1" (empty when none).</summary>
    public string Describe()
    {
        lock (_counts)
        {
            return string.Join(", ", _counts.OrderByDescending(c => c.Value).Select(c =>
                _examples.TryGetValue(c.Key, out var example) ? $"{c.Key}×{c.Value} (e.g. {example})" : $"{c.Key}×{c.Value}"));
        }
    }
}
