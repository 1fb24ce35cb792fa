namespace Parley.Server.Tests.Infrastructure;

/// <summary>
/// The system clock moved forward by hand: <see cref="GetUtcNow"/> is the real time plus what <see cref="Advance"/>
/// added, while timestamps and timers stay real — so the host's Orleans silo (which takes its timers from the same
/// <see cref="TimeProvider"/>) keeps running, and access tokens issued before a shift stay valid (the JWT handler checks
/// lifetimes against the real clock).
/// </summary>
public sealed class ShiftedTime : TimeProvider
{
    private long _offsetTicks;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

    /// <summary>Moves the clock forward.</summary>
    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
