using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Accounts;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Users;

/// <content>Password, sessions and account deletion.</content>
public static partial class UsersApi
{
    /// <summary>
    /// 204 after changing the password; every other session of the user is revoked (this one stays). 400 naming
    /// <c>currentPassword</c> when it is wrong, <c>newPassword</c> when it breaks the policy; 401 when the account is gone.
    /// </summary>
    public static async Task<Results<NoContent, ValidationProblem, UnauthorizedHttpResult>> ChangePassword(
        ChangePasswordRequest body, ClaimsPrincipal principal, UserManager<User> users, ParleyDbContext db, RevokedSessions revoked,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var user = await users.FindByIdAsync(principal.UserId().ToString());
        if (user is null)
        {
            return TypedResults.Unauthorized();
        }

        if (!await users.CheckPasswordAsync(user, body.CurrentPassword!))
        {
            return Problems.Field("currentPassword", "The current password is incorrect.");
        }

        var changed = await users.ChangePasswordAsync(user, body.CurrentPassword!, body.NewPassword!);
        if (!changed.Succeeded)
        {
            return Problems.Fields(new Dictionary<string, string[]> { ["newPassword"] = [.. changed.Errors.Select(e => e.Description)] });
        }

        await SessionRevocation.RevokeAllAsync(db, revoked, user.Id, CurrentSession(principal), time.GetUtcNow().UtcDateTime, cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>200 with the caller's live sessions (not revoked, a refresh token not yet expired), newest first.</summary>
    public static async Task<Ok<List<SessionDto>>> Sessions(ClaimsPrincipal principal, ParleyDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var current = CurrentSession(principal);
        var now = time.GetUtcNow().UtcDateTime;
        var sessions = await db.AuthSessions.AsNoTracking()
            .Where(s => s.UserId == userId && s.RevokedAt == null && db.RefreshTokens.Any(t => t.SessionId == s.Id && t.UsedAt == null && t.ExpiresAt > now))
            .OrderByDescending(s => s.LastUsedAt)
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(sessions.ConvertAll(s => new SessionDto(
            s.Id, s.UserAgent, DateTime.SpecifyKind(s.CreatedAt, DateTimeKind.Utc), DateTime.SpecifyKind(s.LastUsedAt, DateTimeKind.Utc), s.Id == current)));
    }

    /// <summary>204 after revoking one of the caller's sessions (its tokens stop working); 404 when it is not the caller's.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteSession(
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, RevokedSessions revoked, TimeProvider time, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        if (!await db.AuthSessions.AnyAsync(s => s.Id == id && s.UserId == userId, cancellationToken))
        {
            return Problems.NotFound("session");
        }

        await SessionRevocation.RevokeAsync(db, revoked, id, time.GetUtcNow().UtcDateTime, cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// 204 after deleting the account with everything it owns (conversations, messages, sessions, refresh tokens, ledger
    /// rows: foreign-key cascades). Its sessions are revoked first, so its access tokens stop working at once here; on
    /// other nodes they find no user (401). 400 naming <c>password</c> when it is wrong.
    /// </summary>
    public static async Task<Results<NoContent, ValidationProblem, UnauthorizedHttpResult>> DeleteAccount(
        [Microsoft.AspNetCore.Mvc.FromBody] DeleteAccountRequest body, ClaimsPrincipal principal, UserManager<User> users, ParleyDbContext db,
        RevokedSessions revoked, TimeProvider time, CancellationToken cancellationToken)
    {
        var user = await users.FindByIdAsync(principal.UserId().ToString());
        if (user is null)
        {
            return TypedResults.Unauthorized();
        }

        if (!await users.CheckPasswordAsync(user, body.Password!))
        {
            return Problems.Field("password", "The password is incorrect.");
        }

        await SessionRevocation.RevokeAllAsync(db, revoked, user.Id, keep: null, time.GetUtcNow().UtcDateTime, cancellationToken);
        if (CurrentSession(principal) is { } current)
        {
            revoked.Add(current);
        }

        await db.Users.Where(u => u.Id == user.Id).ExecuteDeleteAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static Guid? CurrentSession(ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue(TokenService.SessionClaim), out var id) ? id : null;
}
