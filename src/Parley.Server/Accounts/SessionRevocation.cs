using Microsoft.EntityFrameworkCore;
using Parley.Server.Data;

namespace Parley.Server.Accounts;

/// <summary>
/// Ends login sessions: stores <c>RevokedAt</c> (other nodes read it within <c>Jwt:RevocationPollSeconds</c>) and adds the
/// session to this node's <see cref="RevokedSessions"/> at once, so its access tokens stop working here immediately.
/// </summary>
public static class SessionRevocation
{
    /// <summary>Revokes one session (no-op when it already was).</summary>
    public static async Task RevokeAsync(ParleyDbContext db, RevokedSessions revoked, Guid sessionId, DateTime now, CancellationToken cancellationToken)
    {
        await db.AuthSessions
            .Where(s => s.Id == sessionId && s.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.RevokedAt, now), cancellationToken);
        revoked.Add(sessionId);
    }

    /// <summary>Revokes every live session of <paramref name="userId"/> except <paramref name="keep"/>; returns how many.</summary>
    public static async Task<int> RevokeAllAsync(
        ParleyDbContext db, RevokedSessions revoked, Guid userId, Guid? keep, DateTime now, CancellationToken cancellationToken)
    {
        var ids = await db.AuthSessions
            .Where(s => s.UserId == userId && s.RevokedAt == null && s.Id != keep)
            .Select(s => s.Id)
            .ToListAsync(cancellationToken);
        if (ids.Count == 0)
        {
            return 0;
        }

        await db.AuthSessions
            .Where(s => ids.Contains(s.Id) && s.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.RevokedAt, now), cancellationToken);
        foreach (var id in ids)
        {
            revoked.Add(id);
        }

        return ids.Count;
    }
}
