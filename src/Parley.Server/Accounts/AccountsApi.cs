using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Accounts;

/// <summary>Body of <c>POST /api/auth/register</c>.</summary>
/// <param name="UserName">3–32 characters of <c>[A-Za-z0-9_.-]</c>, unique (case-insensitive).</param>
/// <param name="Password">At least 8 characters with an upper-case letter, a lower-case letter, a digit and a symbol.</param>
/// <param name="Email">Optional; unique when given.</param>
public sealed record RegisterRequest(string? UserName, string? Password, string? Email = null);

/// <summary>Body of <c>POST /api/auth/login</c>.</summary>
/// <param name="UserName">The user name, or the email address.</param>
/// <param name="Password">The password.</param>
public sealed record LoginRequest(string? UserName, string? Password);

/// <summary>Body of <c>POST /api/auth/refresh</c> and (optionally) <c>POST /api/auth/logout</c>.</summary>
/// <param name="RefreshToken">A refresh token from login or a previous refresh.</param>
public sealed record RefreshRequest(string? RefreshToken);

/// <summary>A user as the API shows it.</summary>
/// <param name="Id">User id.</param>
/// <param name="UserName">User name.</param>
/// <param name="Email">Email, if given.</param>
/// <param name="TokenBalance">Tokens left.</param>
/// <param name="CreatedAt">Registration time (UTC, ISO 8601).</param>
public sealed record UserDto(Guid Id, string UserName, string? Email, long TokenBalance, DateTimeOffset CreatedAt)
{
    internal static UserDto From(User user) =>
        new(user.Id, user.UserName!, user.Email, user.TokenBalance, DateTime.SpecifyKind(user.CreatedAt, DateTimeKind.Utc));
}

/// <summary>Registration, login, token refresh and logout.</summary>
public static partial class AccountsApi
{
    /// <summary>The name of the per-IP rate-limit policy on these endpoints.</summary>
    public const string RateLimitPolicy = "auth";

    [GeneratedRegex("^[A-Za-z0-9_.-]{3,32}$")]
    private static partial Regex UserNamePattern();

    /// <summary>Maps <c>/api/auth/*</c>.</summary>
    public static RouteGroupBuilder MapAccounts(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/auth").WithTags("Accounts");
        // Token responses must not be stored by any cache (RFC 6749 §5.1); nothing else here should be either.
        group.AddEndpointFilter(async (context, next) =>
        {
            var headers = context.HttpContext.Response.Headers;
            headers.CacheControl = "no-store";
            headers.Pragma = "no-cache";
            return await next(context);
        });
        group.MapPost("/register", Register).WithName("Register").RequireRateLimiting(RateLimitPolicy)
            .WithSummary("Create an account with the initial token balance.")
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/login", Login).WithName("Login").RequireRateLimiting(RateLimitPolicy)
            .WithSummary("Exchange a user name (or email) and password for an access token and a refresh token. After 5 failures logins with that name answer 429 (Retry-After) for 5 minutes.")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/refresh", Refresh).WithName("Refresh").RequireRateLimiting(RateLimitPolicy)
            .WithSummary("Rotate a refresh token: returns a new pair and revokes the old token. Reusing a revoked token revokes its whole session.")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/logout", Logout).WithName("Logout").RequireAuthorization()
            .WithSummary("End the session: its refresh tokens and the access token used here stop working.")
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        return group;
    }

    /// <summary>Registers a user. 201 with the user; 400 naming each invalid field; 409 when the user name or email is taken.</summary>
    public static async Task<Results<Created<UserDto>, ValidationProblem, ProblemHttpResult>> Register(
        RegisterRequest body, UserManager<User> users, IOptions<QuotaOptions> quota, TimeProvider time)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(body.UserName) || !UserNamePattern().IsMatch(body.UserName))
        {
            errors["userName"] = ["The user name must be 3 to 32 characters of letters, digits, '_', '.' or '-'."];
        }

        var email = string.IsNullOrWhiteSpace(body.Email) ? null : body.Email.Trim();
        if (email is not null && (email.Length > 254 || !new EmailAddressAttribute().IsValid(email)))
        {
            errors["email"] = ["The email address is not valid."];
        }

        if (string.IsNullOrEmpty(body.Password))
        {
            errors["password"] = ["A password is required."];
        }
        else
        {
            var user = new User { UserName = body.UserName };
            var failures = new List<string>();
            foreach (var validator in users.PasswordValidators)
            {
                var result = await validator.ValidateAsync(users, user, body.Password);
                failures.AddRange(result.Errors.Select(e => e.Description));
            }

            if (failures.Count > 0)
            {
                errors["password"] = [.. failures];
            }
        }

        if (errors.Count > 0)
        {
            return Problems.Fields(errors);
        }

        if (email is not null && await users.FindByEmailAsync(email) is not null)
        {
            return Problems.Status(StatusCodes.Status409Conflict, "Email taken", "An account with this email already exists.", "email");
        }

        var account = new User
        {
            Id = Guid.CreateVersion7(),
            UserName = body.UserName,
            Email = email,
            TokenBalance = quota.Value.InitialBalance,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        IdentityResult created;
        try
        {
            created = await users.CreateAsync(account, body.Password!);
        }
        catch (DbUpdateException)
        {
            // A concurrent registration won the unique index.
            return Problems.Status(StatusCodes.Status409Conflict, "Account exists", "The user name or email is already taken.", "userName");
        }

        if (!created.Succeeded)
        {
            if (created.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.DuplicateUserName)))
            {
                return Problems.Status(StatusCodes.Status409Conflict, "User name taken", "This user name is already taken.", "userName");
            }

            if (created.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.DuplicateEmail)))
            {
                return Problems.Status(StatusCodes.Status409Conflict, "Email taken", "An account with this email already exists.", "email");
            }

            return Problems.Fields(created.Errors
                .GroupBy(e => e.Code.Contains("Password", StringComparison.Ordinal) ? "password"
                    : e.Code.Contains("Email", StringComparison.Ordinal) ? "email" : "userName")
                .ToDictionary(g => g.Key, g => g.Select(e => e.Description).ToArray()));
        }

        return TypedResults.Created($"/api/users/me", UserDto.From(account));
    }

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
        var session = new AuthSession { Id = Guid.CreateVersion7(), UserId = user.Id, CreatedAt = time.GetUtcNow().UtcDateTime };
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

            await RevokeSessionAsync(db, revoked, session.Id, now, cancellationToken);
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
                await RevokeSessionAsync(db, revoked, session.Id, now, cancellationToken);
                return invalid;
            }

            var user = await db.Users.AsNoTracking().SingleAsync(u => u.Id == token.UserId, cancellationToken);
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
            await RevokeSessionAsync(db, revoked, sessionId, now, cancellationToken);
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
                await RevokeSessionAsync(db, revoked, otherSession, now, cancellationToken);
            }
        }

        return TypedResults.NoContent();
    }

    private static async Task RevokeSessionAsync(ParleyDbContext db, RevokedSessions revoked, Guid sessionId, DateTime now, CancellationToken cancellationToken)
    {
        await db.AuthSessions
            .Where(s => s.Id == sessionId && s.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.RevokedAt, now), cancellationToken);
        revoked.Add(sessionId);
    }

    /// <summary>The authenticated user's id (the <c>sub</c> claim).</summary>
    /// <exception cref="InvalidOperationException">The principal has no valid <c>sub</c> (the endpoint is not authenticated).</exception>
    public static Guid UserId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue("sub"), out var id) ? id : throw new InvalidOperationException("The request is not authenticated.");
}
