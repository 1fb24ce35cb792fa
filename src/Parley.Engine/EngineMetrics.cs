using System.Diagnostics.Metrics;

namespace Parley.Engine;

/// <summary>
/// The engine's counters, published as the <c>Parley.Engine</c> meter (System.Diagnostics.Metrics, readable with
/// <c>dotnet-counters monitor --counters Parley.Engine</c>) and as a <see cref="EngineStatistics"/> snapshot.
/// </summary>
internal sealed class EngineMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Parley.Engine";

    private readonly Meter _meter;
    private readonly Counter<long> _turns;
    private readonly Counter<long> _contextLoads;
    private long _completed, _failed, _conflicts, _hits, _misses, _evictions, _recovered, _replayed, _rejected;

    public EngineMetrics(IMeterFactory? meterFactory, Func<int> residentCount)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _turns = _meter.CreateCounter<long>("parley.turns", "{turn}", "Turns finished, by outcome");
        _contextLoads = _meter.CreateCounter<long>("parley.context.lookups", "{lookup}", "Context lookups, by whether the context was resident (hit) or loaded (miss)");
        _meter.CreateObservableGauge("parley.context.resident", residentCount, "{conversation}", "Conversations with an actor in RAM");
        _meter.CreateObservableCounter("parley.context.evictions", () => Interlocked.Read(ref _evictions), "{conversation}", "Contexts evicted (idle or over the cap)");
        _meter.CreateObservableCounter("parley.turns.conflicts", () => Interlocked.Read(ref _conflicts), "{conflict}", "Commits refused by the version check and retried");
    }

    public void TurnCompleted()
    {
        Interlocked.Increment(ref _completed);
        _turns.Add(1, new KeyValuePair<string, object?>("outcome", "completed"));
    }

    public void TurnFailed()
    {
        Interlocked.Increment(ref _failed);
        _turns.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
    }

    public void Rejected() => Interlocked.Increment(ref _rejected);

    public void Conflict() => Interlocked.Increment(ref _conflicts);

    public void Recovered() => Interlocked.Increment(ref _recovered);

    public void Replayed() => Interlocked.Increment(ref _replayed);

    public void Evicted(int count) => Interlocked.Add(ref _evictions, count);

    public void ContextHit()
    {
        Interlocked.Increment(ref _hits);
        _contextLoads.Add(1, new KeyValuePair<string, object?>("result", "hit"));
    }

    public void ContextMiss()
    {
        Interlocked.Increment(ref _misses);
        _contextLoads.Add(1, new KeyValuePair<string, object?>("result", "miss"));
    }

    public EngineStatistics Snapshot(int resident) => new(
        resident,
        Interlocked.Read(ref _hits),
        Interlocked.Read(ref _misses),
        Interlocked.Read(ref _evictions),
        Interlocked.Read(ref _completed),
        Interlocked.Read(ref _failed),
        Interlocked.Read(ref _rejected),
        Interlocked.Read(ref _conflicts),
        Interlocked.Read(ref _recovered),
        Interlocked.Read(ref _replayed));

    public void Dispose() => _meter.Dispose();
}

/// <summary>A snapshot of the engine's counters since start.</summary>
/// <param name="ResidentConversations">Conversations with an actor (and usually a context) in RAM now.</param>
/// <param name="ContextHits">Turns that found their context in RAM.</param>
/// <param name="ContextMisses">Turns that loaded their context from the database.</param>
/// <param name="Evictions">Actors evicted for idleness or over the resident cap.</param>
/// <param name="TurnsCompleted">Turns whose reply was stored (completed or cancelled).</param>
/// <param name="TurnsFailed">Turns the bot failed (stored as failed, refunded).</param>
/// <param name="TurnsRejected">Sends refused by <see cref="ConversationEngine.Send"/> itself (full mailbox, bad content).</param>
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
