using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Accounts;

/// <content>Login.</content>
public static partial class AccountsApi
{
    /// <summary>
    /// Logs in. 200 with a token pair; 401 on a wrong name or password; 429 with <c>Retry-After</c> while logins are
    /// locked out (5 failures lock for 5 minutes) — the same for a name that has no account (<see cref="LoginLockout"/>).
    /// </summary>
    public static async Task<Results<Ok<TokenPair>, ValidationProblem, ProblemHttpResult>> Login(
        LoginRequest body, UserManager<User> users, LoginLockout lockout, ParleyDbContext db, TokenService tokens, TimeProvider time,
        HttpContext http, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(body.UserName) || string.IsNullOrEmpty(body.Password))
        {
            return Problems.Fields(new Dictionary<string, string[]>
            {
                [string.IsNullOrWhiteSpace(body.UserName) ? "userName" : "password"] = ["The user name and password are required."],
            });
        }

        var user = await users.FindByNameAsync(body.UserName)
            ?? (body.UserName.Contains('@', StringComparison.Ordinal) ? await users.FindByEmailAsync(body.UserName) : null);
        var invalid = Problems.Status(StatusCodes.Status401Unauthorized, "Invalid credentials", "The user name or password is incorrect.");
        if (user is null)
        {
            return lockout.FailUnknownName(users.NormalizeName(body.UserName) ?? body.UserName, body.Password, users.PasswordHasher) is { } unknownLockedUntil
                ? LockedOut(http, unknownLockedUntil, time)
                : invalid;
        }

        var admission = await lockout.AdmitAsync(db, user.Id, cancellationToken);
        if (admission.LockedUntil is { } lockedUntil)
        {
            return LockedOut(http, lockedUntil, time);
        }

        if (!await users.CheckPasswordAsync(user, body.Password))
        {
            if (admission.LastAttempt)
            {
                await lockout.RecordFailureAsync(db, user.Id);
            }

            return invalid;
        }

        await lockout.RecordSuccessAsync(db, user.Id);
        // CheckPasswordAsync may have tried to store an upgraded hash through the tracked user, with a concurrency stamp the
        // lockout has since changed: that update failed, and saving the session must not retry it (a 500).
        db.ChangeTracker.Clear();
        if (user.Disabled)
        {
            return Problems.Status(StatusCodes.Status403Forbidden, "Account disabled", "This account has been disabled by an administrator.");
        }

        var now = time.GetUtcNow().UtcDateTime;
        var session = new AuthSession { Id = Guid.CreateVersion7(), UserId = user.Id, CreatedAt = now, LastUsedAt = now, UserAgent = UserAgentOf(http) };
        db.AuthSessions.Add(session);
        var pair = tokens.Issue(db, user, session);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(pair);
    }

    private static ProblemHttpResult LockedOut(HttpContext http, DateTimeOffset until, TimeProvider time)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling((until - time.GetUtcNow()).TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problems.Status(StatusCodes.Status429TooManyRequests, "Too many failed logins",
            "Logins with this name are paused after too many failed attempts. Try again after the time in the Retry-After header.");
    }
}
