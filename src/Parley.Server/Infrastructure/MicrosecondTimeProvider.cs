namespace Parley.Server.Infrastructure;

/// <summary>
/// The system clock with <see cref="GetUtcNow"/> truncated to whole microseconds, the precision PostgreSQL stores
/// (<c>timestamp with time zone</c>). Every timestamp the API returns — in a send's response, a registration, a new
/// conversation — is then exactly the one later read back from the database, on SQLite and PostgreSQL alike.
/// Timers and timestamps for elapsed time are the system's.
/// </summary>
public sealed class MicrosecondTimeProvider : TimeProvider
{
    /// <summary>The one instance.</summary>
    public static MicrosecondTimeProvider Instance { get; } = new();

    private MicrosecondTimeProvider()
    {
    }

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        var now = System.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
    }
}
