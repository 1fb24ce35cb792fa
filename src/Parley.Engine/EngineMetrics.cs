using System.Diagnostics.Metrics;

namespace Parley.Engine;

/// <summary>
/// The engine's counters, published as the <c>Parley.Engine</c> meter (System.Diagnostics.Metrics, readable with
/// <c>dotnet-counters monitor --counters Parley.Engine</c>) and as a <see cref="EngineStatistics"/> snapshot.
/// </summary>
public sealed class EngineMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Parley.Engine";

    private readonly Meter _meter;
    private readonly Counter<long> _turns;
    private readonly Counter<long> _contextLoads;
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
    }

    /// <summary>A turn's reply was stored (completed or cancelled).</summary>
    public void TurnCompleted()
    {
        Interlocked.Increment(ref _completed);
        _turns.Add(1, new KeyValuePair<string, object?>("outcome", "completed"));
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
