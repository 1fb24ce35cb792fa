using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Accounts;

/// <summary>
/// Revoked login sessions, cached in RAM so every authenticated request checks its <c>sid</c> claim without a query.
/// This node's revocations are added at once; other nodes' are read from the database every
/// <c>Jwt:RevocationPollSeconds</c> (default 5 s), the bound on how long a revoked access token may still work elsewhere.
/// </summary>
public sealed class RevokedSessions(
    IServiceScopeFactory scopes,
    IOptions<JwtOptions> options,
    TimeProvider time,
    ILogger<RevokedSessions> logger) : PeriodicJob(time, logger)
{
    private readonly ConcurrentDictionary<Guid, DateTime> _revoked = new();
    private DateTime _watermark = DateTime.MinValue;

    /// <summary>True when the session was revoked.</summary>
    public bool IsRevoked(Guid sessionId) => _revoked.ContainsKey(sessionId);

    /// <summary>Records a revocation made by this node.</summary>
    public void Add(Guid sessionId) => _revoked[sessionId] = Time.GetUtcNow().UtcDateTime;

    /// <summary>Reads revocations newer than the last poll (from start: those young enough to matter, i.e. within an access token lifetime).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        var lifetime = TimeSpan.FromMinutes(options.Value.AccessTokenMinutes);
        // Overlap polls by a minute to tolerate clock skew between nodes.
        var since = _watermark == DateTime.MinValue ? now - lifetime : _watermark - TimeSpan.FromMinutes(1);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
        var revoked = await db.AuthSessions.AsNoTracking()
            .Where(s => s.RevokedAt != null && s.RevokedAt > since)
            .Select(s => new { s.Id, s.RevokedAt })
            .ToListAsync(cancellationToken);
        foreach (var session in revoked)
        {
            _revoked[session.Id] = session.RevokedAt!.Value;
        }

        foreach (var (id, at) in _revoked)
        {
            if (now - at > lifetime + TimeSpan.FromMinutes(2))
            {
                _revoked.TryRemove(id, out _); // every access token of that session has expired
            }
        }

        _watermark = now;
    }

    /// <inheritdoc />
    protected override TimeSpan? Period => TimeSpan.FromSeconds(options.Value.RevocationPollSeconds);

    /// <inheritdoc />
    protected override bool RunAtStart => true;

    /// <inheritdoc />
    protected override Task RunScheduledAsync(CancellationToken cancellationToken) => RefreshAsync(cancellationToken);
}
