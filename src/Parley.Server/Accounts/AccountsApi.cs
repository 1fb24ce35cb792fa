using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Parley.Server.Data;
using Parley.Server.Infrastructure;
using Parley.Server.Users;

namespace Parley.Server.Accounts;

/// <summary>Registration, login, token refresh and logout.</summary>
public static partial class AccountsApi
{
    /// <summary>The name of the per-IP rate-limit policy on these endpoints.</summary>
    public const string RateLimitPolicy = "auth";

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
            .WithSummary("Create an account with the initial token balance and log it in (the response carries the first token pair).")
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/login", Login).WithName("Login").RequireRateLimiting(RateLimitPolicy)
            .WithSummary("Exchange a user name (or email) and password for an access token and a refresh token. After 5 failures logins with that name answer 429 (Retry-After) for 5 minutes; a disabled account answers 403.")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/refresh", Refresh).WithName("Refresh").RequireRateLimiting(RateLimitPolicy)
            .WithSummary("Rotate a refresh token: returns a new pair and revokes the old token. Reusing a revoked token revokes its whole session.")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/logout", Logout).WithName("Logout").RequireAuthorization()
            .WithSummary("End the session: its refresh tokens and the access token used here stop working.")
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        return group;
    }

    /// <summary>Registers a user and logs them in. 201 with the user and a token pair; 400 naming each invalid field; 409 when the user name or email is taken.</summary>
    public static async Task<Results<Created<RegisteredDto>, ValidationProblem, ProblemHttpResult>> Register(
        RegisterRequest body, UserManager<User> users, ParleyDbContext db, TokenService tokens, IOptions<QuotaOptions> quota,
        IOptions<Admin.AdminOptions> admins, TimeProvider time,
        HttpContext http, CancellationToken cancellationToken)
    {
        // The attributes on RegisterRequest checked the user name, the email and that a password was given (AddValidation);
        // the password policy is Identity's.
        var email = AccountRules.NormalizeEmail(body.Email);
        var failures = new List<string>();
        foreach (var validator in users.PasswordValidators)
        {
            var result = await validator.ValidateAsync(users, new User { UserName = body.UserName }, body.Password!);
            failures.AddRange(result.Errors.Select(e => e.Description));
        }

        if (failures.Count > 0)
        {
            return Problems.Fields(new Dictionary<string, string[]> { ["password"] = [.. failures] });
        }

        if (email is not null && await users.FindByEmailAsync(email) is not null)
        {
            return Problems.Status(StatusCodes.Status409Conflict, "Email taken", "An account with this email already exists.", "email");
        }

        var now = time.GetUtcNow().UtcDateTime;
        var account = new User
        {
            Id = Guid.CreateVersion7(),
            UserName = body.UserName,
            Email = email,
            TokenBalance = quota.Value.InitialBalance,
            CreatedAt = now,
            // Admin:Users bootstraps a fresh install: the named user is an admin from registration on.
            Role = admins.Value.Users.Contains(body.UserName!, StringComparer.OrdinalIgnoreCase) ? AccountRoles.Admin : AccountRoles.User,
        };
        // The ledger's first row is saved by CreateAsync's SaveChanges, in the transaction that creates the user.
        var initial = Ledger.Append(db, account.Id, TransactionKinds.Initial, account.TokenBalance, account.TokenBalance, null, null, now);
        IdentityResult created;
        try
        {
            created = await users.CreateAsync(account, body.Password!);
        }
        catch (DbUpdateException)
        {
            db.Entry(initial).State = EntityState.Detached;
            // A concurrent registration won the unique index.
            return Problems.Status(StatusCodes.Status409Conflict, "Account exists", "The user name or email is already taken.", "userName");
        }

        if (!created.Succeeded)
        {
            db.Entry(initial).State = EntityState.Detached;
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

        // Registering logs the user in: the first session and its token pair.
        var session = new AuthSession { Id = Guid.CreateVersion7(), UserId = account.Id, CreatedAt = now, LastUsedAt = now, UserAgent = UserAgentOf(http) };
        db.AuthSessions.Add(session);
        var pair = tokens.Issue(db, account, session);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created("/api/users/me",
            new RegisteredDto(account.Id, account.UserName!, account.Email, account.TokenBalance, DateTime.SpecifyKind(now, DateTimeKind.Utc), account.Role, pair));
    }

    /// <summary>The request's <c>User-Agent</c>, cut to the 256 characters a session stores.</summary>
    internal static string? UserAgentOf(HttpContext http) =>
        http.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent[..Math.Min(agent.Length, 256)] : null;
}
