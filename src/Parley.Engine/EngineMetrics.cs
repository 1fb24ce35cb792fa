using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Parley.Engine;

/// <summary>
/// The engine's counters, published as the <c>Parley.Engine</c> meter (System.Diagnostics.Metrics, readable with
/// <c>dotnet-counters monitor --counters Parley.Engine</c>, exported by OpenTelemetry) and as a
/// <see cref="EngineStatistics"/> snapshot. docs/operations.md lists the instruments and their healthy values.
/// </summary>
public sealed class EngineMetrics : IDisposable
{
    /// <summary>The meter's name (also the engine's <see cref="ActivitySource"/> name, <see cref="EngineTelemetry.SourceName"/>).</summary>
    public const string MeterName = "Parley.Engine";

    // Buckets for durations in seconds (a commit takes ~0.5–20 ms; a turn with a real model seconds).
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
    private static readonly int[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

    private readonly Meter _meter;
    private readonly Counter<long> _turns;
    private readonly Counter<long> _contextLoads;
    private readonly Counter<long> _tokens;
    private readonly Histogram<double> _turnDuration;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _commitDuration;
    private long _completed, _failed, _conflicts, _hits, _misses, _evictions, _recovered, _replayed, _rejected;
    private int _resident;

    /// <summary>Creates the counters and the <c>Parley.Engine</c> meter.</summary>
    /// <param name="meterFactory">Creates the meter; a standalone meter when null.</param>
    public EngineMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _turns = _meter.CreateCounter<long>("parley.turns", "{turn}", "Turns finished, by outcome");
        _contextLoads = _meter.CreateCounter<long>("parley.context.lookups", "{lookup}", "Context lookups, by whether the context was resident (hit) or loaded (miss)");
        _meter.CreateObservableGauge("parley.context.resident", () => Volatile.Read(ref _resident), "{conversation}", "Conversation grains activated on this node");
        _meter.CreateObservableCounter("parley.context.evictions", () => Interlocked.Read(ref _evictions), "{conversation}", "Conversation grains deactivated (idle, memory pressure, shutdown)");
        _meter.CreateObservableCounter("parley.turns.conflicts", () => Interlocked.Read(ref _conflicts), "{conflict}", "Commits refused by the version check and retried");
        _meter.CreateObservableCounter("parley.turns.rejected", () => Interlocked.Read(ref _rejected), "{turn}", "Sends refused before running (full queue, bad content)");
        _meter.CreateObservableCounter("parley.turns.recovered", () => Interlocked.Read(ref _recovered), "{turn}", "Unfinished turns settled after a crash or abandonment");
        _tokens = _meter.CreateCounter<long>("parley.tokens", "{token}", "Tokens of stored replies, by type (input: the prompt, output: the reply) and model");
        _turnDuration = _meter.CreateHistogram("parley.turn.duration", "s", "A turn from its send to its end (queue wait, bot, commits), by outcome",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _batchSize = _meter.CreateHistogram("parley.commit.batch_size", "{operation}", "Operations (turn halves) per group commit",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = BatchBuckets });
        _commitDuration = _meter.CreateHistogram("parley.commit.duration", "s", "A group commit's transaction, from its first statement to its durable commit",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
    }

    /// <summary>A turn's reply was stored (completed or cancelled).</summary>
    /// <param name="reply">The stored reply: its model and usage feed <c>parley.tokens</c>.</param>
    public void TurnCompleted(StoredMessage? reply = null)
    {
        Interlocked.Increment(ref _completed);
        _turns.Add(1, new KeyValuePair<string, object?>("outcome", "completed"));
        if (reply?.Usage is { } usage && _tokens.Enabled)
        {
            var model = new KeyValuePair<string, object?>("model", reply.Model);
            _tokens.Add(usage.PromptTokens, new KeyValuePair<string, object?>("type", "input"), model);
            _tokens.Add(usage.CompletionTokens, new KeyValuePair<string, object?>("type", "output"), model);
        }
    }

    /// <summary>A turn ended (any outcome) <paramref name="elapsed"/> after it was sent.</summary>
    /// <param name="elapsed">From the send to the turn's last event.</param>
    /// <param name="streaming">Whether the turn was streamed.</param>
    /// <param name="failure">The error of a failed turn; null when it completed.</param>
    public void TurnEnded(TimeSpan elapsed, bool streaming, TurnError? failure) => _turnDuration.Record(elapsed.TotalSeconds,
        new KeyValuePair<string, object?>("outcome", failure is { } error ? error.ToString() : "completed"),
        new KeyValuePair<string, object?>("streaming", streaming));

    /// <summary>The group-commit writer committed (or failed) a transaction of <paramref name="operations"/> operations in <paramref name="elapsed"/>.</summary>
    public void Committed(int operations, TimeSpan elapsed)
    {
        _batchSize.Record(operations);
        _commitDuration.Record(elapsed.TotalSeconds);
    }

    /// <summary>A turn failed in the bot (stored failed and refunded, or not stored).</summary>
    public void TurnFailed()
    {
        Interlocked.Increment(ref _failed);
        _turns.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
    }

    /// <summary>A send was refused before reaching the protocol (bad content, full queue).</summary>
    public void Rejected() => Interlocked.Increment(ref _rejected);

    /// <summary>A commit was refused by the version check.</summary>
    public void Conflict() => Interlocked.Increment(ref _conflicts);

    /// <summary>A pending turn was settled.</summary>
    public void Recovered() => Interlocked.Increment(ref _recovered);

    /// <summary>A send was answered with the stored turn of its client message id.</summary>
    public void Replayed() => Interlocked.Increment(ref _replayed);

    /// <summary>A conversation grain was activated on this node.</summary>
    public void Activated() => Interlocked.Increment(ref _resident);

    /// <summary>A conversation grain was deactivated on this node.</summary>
    public void Deactivated()
    {
        Interlocked.Decrement(ref _resident);
        Interlocked.Increment(ref _evictions);
    }

    /// <summary>A turn found its context in RAM.</summary>
    public void ContextHit()
    {
        Interlocked.Increment(ref _hits);
        _contextLoads.Add(1, new KeyValuePair<string, object?>("result", "hit"));
    }

    /// <summary>A turn loaded its context from the database.</summary>
    public void ContextMiss()
    {
        Interlocked.Increment(ref _misses);
        _contextLoads.Add(1, new KeyValuePair<string, object?>("result", "miss"));
    }

    /// <summary>The counters now.</summary>
    public EngineStatistics Snapshot() => new(
        Volatile.Read(ref _resident),
        Interlocked.Read(ref _hits),
        Interlocked.Read(ref _misses),
        Interlocked.Read(ref _evictions),
        Interlocked.Read(ref _completed),
        Interlocked.Read(ref _failed),
        Interlocked.Read(ref _rejected),
        Interlocked.Read(ref _conflicts),
        Interlocked.Read(ref _recovered),
        Interlocked.Read(ref _replayed));

    /// <summary>Releases the meter.</summary>
    public void Dispose() => _meter.Dispose();
}

/// <summary>The engine's <see cref="ActivitySource"/>: spans for a turn in its grain and for its commits (traces HTTP → grain → bot → commits).</summary>
public static class EngineTelemetry
{
    /// <summary>The source's name, <c>Parley.Engine</c> (as the meter's).</summary>
    public const string SourceName = EngineMetrics.MeterName;

    /// <summary>The source.</summary>
    public static readonly ActivitySource Source = new(SourceName);
}

/// <summary>A snapshot of the engine's counters since start.</summary>
/// <param name="ResidentConversations">Conversation grains activated on this node now (each holds its context in RAM once used).</param>
/// <param name="ContextHits">Turns that found their context in RAM.</param>
/// <param name="ContextMisses">Turns that loaded their context from the database.</param>
/// <param name="Evictions">Conversation grains deactivated (idle for <see cref="EngineOptions.IdleTimeout"/>, memory pressure, shutdown).</param>
/// <param name="TurnsCompleted">Turns whose reply was stored (completed or cancelled).</param>
/// <param name="TurnsFailed">Turns the bot failed (stored as failed, refunded).</param>
/// <param name="TurnsRejected">Sends refused before running (full queue, bad content).</param>
/// <param name="Conflicts">Commits refused by the version check (another writer) and retried.</param>
/// <param name="Recovered">Unfinished turns settled after a crash or abandonment.</param>
/// <param name="Replayed">Sends answered with an earlier turn because their client message id repeated.</param>
public sealed record EngineStatistics(
    int ResidentConversations,
    long ContextHits,
    long ContextMisses,
    long Evictions,
    long TurnsCompleted,
    long TurnsFailed,
    long TurnsRejected,
    long Conflicts,
    long Recovered,
    long Replayed);
