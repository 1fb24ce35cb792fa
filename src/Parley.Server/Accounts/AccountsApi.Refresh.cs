using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Accounts;

/// <content>Token refresh and logout.</content>
public static partial class AccountsApi
{
    /// <summary>
    /// Rotates a refresh token. 200 with a new pair; 401 when the token is unknown, expired, revoked or reused (reuse
    /// revokes the session) — except that within <c>Jwt:RefreshReuseGraceSeconds</c> of its rotation on this node, while
    /// the new pair is unused, the same token gets the same new pair (<see cref="RefreshGrace"/>).
    /// </summary>
    public static async Task<Results<Ok<TokenPair>, ValidationProblem, ProblemHttpResult>> Refresh(
        RefreshRequest body, ParleyDbContext db, TokenService tokens, RevokedSessions revoked, RefreshGrace grace, TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(body.RefreshToken))
        {
            return Problems.Field("refreshToken", "A refresh token is required.");
        }

        var invalid = Problems.Status(StatusCodes.Status401Unauthorized, "Invalid refresh token", "The refresh token is invalid, expired or revoked. Log in again.");
        var now = time.GetUtcNow().UtcDateTime;
        var hash = TokenService.Hash(body.RefreshToken);
        var token = await db.RefreshTokens.AsNoTracking().SingleOrDefaultAsync(t => t.TokenHash == hash, cancellationToken);
        if (token is null || token.ExpiresAt <= now)
        {
            return invalid;
        }

        var session = await db.AuthSessions.SingleOrDefaultAsync(s => s.Id == token.SessionId, cancellationToken);
        if (session is null || session.RevokedAt is not null)
        {
            return invalid;
        }

        if (grace.Window > TimeSpan.Zero && !grace.TryBegin(hash, out var rotation))
        {
            // Another request on this node rotated this token moments ago (a second tab): the same pair, while it is unused.
            if (await rotation.WaitAsync(cancellationToken) is not { } pair)
            {
                return invalid;
            }

            var successor = TokenService.Hash(pair.RefreshToken);
            if (!revoked.IsRevoked(session.Id)
                && await db.RefreshTokens.AnyAsync(t => t.TokenHash == successor && t.UsedAt == null, cancellationToken))
            {
                return TypedResults.Ok(pair);
            }

            await SessionRevocation.RevokeAsync(db, revoked, session.Id, now, cancellationToken);
            return invalid;
        }

        try
        {
            // Single use: only the request that flips UsedAt may rotate. A second presentation means the token leaked.
            var claimed = await db.RefreshTokens
                .Where(t => t.Id == token.Id && t.UsedAt == null)
                .ExecuteUpdateAsync(t => t.SetProperty(x => x.UsedAt, now), cancellationToken);
            if (claimed == 0)
            {
                grace.Abandon(hash);
                await SessionRevocation.RevokeAsync(db, revoked, session.Id, now, cancellationToken);
                return invalid;
            }

            var user = await db.Users.AsNoTracking().SingleAsync(u => u.Id == token.UserId, cancellationToken);
            if (user.Disabled)
            {
                grace.Abandon(hash);
                return invalid;
            }

            session.LastUsedAt = now;
            var pair = tokens.Issue(db, user, session);
            await db.SaveChangesAsync(cancellationToken);
            grace.Complete(hash, pair);
            return TypedResults.Ok(pair);
        }
        catch
        {
            grace.Abandon(hash);
            throw;
        }
    }

    /// <summary>Logs out: revokes the caller's session (its access tokens and refresh tokens), and the given refresh token's session if it is the caller's. 204.</summary>
    public static async Task<NoContent> Logout(
        RefreshRequest? body, ClaimsPrincipal principal, ParleyDbContext db, RevokedSessions revoked, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var userId = principal.UserId();
        if (Guid.TryParse(principal.FindFirstValue(TokenService.SessionClaim), out var sessionId))
        {
            await SessionRevocation.RevokeAsync(db, revoked, sessionId, now, cancellationToken);
        }

        if (!string.IsNullOrWhiteSpace(body?.RefreshToken))
        {
            var hash = TokenService.Hash(body.RefreshToken);
            var other = await db.RefreshTokens.AsNoTracking()
                .Where(t => t.TokenHash == hash && t.UserId == userId)
                .Select(t => (Guid?)t.SessionId)
                .SingleOrDefaultAsync(cancellationToken);
            if (other is { } otherSession && otherSession != sessionId)
            {
                await SessionRevocation.RevokeAsync(db, revoked, otherSession, now, cancellationToken);
            }
        }

        return TypedResults.NoContent();
    }
}
