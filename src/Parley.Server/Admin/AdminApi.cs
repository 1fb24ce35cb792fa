using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Accounts;
using Parley.Server.Conversations;
using Parley.Server.Data;
using Parley.Server.Infrastructure;
using Parley.Server.Retention;

namespace Parley.Server.Admin;

/// <summary>The operator's endpoints: users (list, disable, role, balance) and usage statistics. Admins only.</summary>
public static class AdminApi
{
    /// <summary>Maps <c>/api/admin/*</c>: 401 without a valid token, 403 for a user who is not an admin (the routes are not secrets).</summary>
    public static RouteGroupBuilder MapAdmin(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/admin").WithTags("Admin").RequireAuthorization(AdminSetup.Policy)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        group.MapGet("/users", ListUsers).WithName("AdminListUsers")
            .WithSummary("Users by name; query matches name or email (case-insensitive); limit 1–200 (default 50); cursor from the previous page.");
        group.MapPatch("/users/{id:guid}", UpdateUser).WithName("AdminUpdateUser")
            .WithSummary("Disable or enable a user (disabling revokes every session at once), or set the role (user/admin).");
        group.MapPost("/users/{id:guid}/balance", AdjustBalance).WithName("AdminAdjustBalance")
            .WithSummary("Top up (positive amount) or correct (negative) a balance, recorded in the ledger; 400 if it would go below zero.");
        group.MapGet("/stats", Stats).WithName("AdminStats")
            .WithSummary("Users, active users, conversations, messages, turns and tokens charged in the last 24 h, and the last retention run.");
        return group;
    }

    /// <summary>200 with a page of users ordered by name; 400 on a bad limit or cursor.</summary>
    public static async Task<Results<Ok<Page<AdminUserDto>>, ValidationProblem>> ListUsers(
        ParleyDbContext db, string? query, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        var size = limit ?? 50;
        if (size is < 1 or > 200)
        {
            return Problems.Field("limit", "limit must be between 1 and 200.");
        }

        var users = db.Users.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(query))
        {
            var needle = query.Trim().ToUpperInvariant();
            users = users.Where(u => u.NormalizedUserName!.Contains(needle) || (u.NormalizedEmail != null && u.NormalizedEmail.Contains(needle)));
        }

        if (cursor is not null)
        {
            var after = cursor.ToUpperInvariant();
            if (after.Length is < 3 or > 32)
            {
                return Problems.Field("cursor", "The cursor is not valid.");
            }

            users = users.Where(u => string.Compare(u.NormalizedUserName, after) > 0);
        }

        var rows = await users
            .OrderBy(u => u.NormalizedUserName)
            .Take(size + 1)
            .Select(u => new
            {
                User = u,
                LastActiveAt = db.Conversations.Where(c => c.UserId == u.Id && c.LastSequence > 0).Max(c => (DateTime?)c.UpdatedAt),
                MessageCount = db.Conversations.Where(c => c.UserId == u.Id).Sum(c => (long?)c.LastSequence) ?? 0,
            })
            .ToListAsync(cancellationToken);
        string? next = null;
        if (rows.Count > size)
        {
            rows.RemoveAt(size);
            next = rows[^1].User.UserName;
        }

        return TypedResults.Ok(new Page<AdminUserDto>(
            rows.ConvertAll(r => new AdminUserDto(
                r.User.Id, r.User.UserName!, r.User.Email, r.User.Role, r.User.TokenBalance, r.User.Disabled, Utc(r.User.CreatedAt),
                r.LastActiveAt is { } last ? Utc(last) : null, r.MessageCount)),
            next));
    }

    /// <summary>200 with the user after the change; 400 on an unknown role; 404 when the user does not exist.</summary>
    public static async Task<Results<Ok<AdminUserDto>, ValidationProblem, ProblemHttpResult>> UpdateUser(
        Guid id, UpdateUserRequest body, ParleyDbContext db, RevokedSessions revoked, TimeProvider time, CancellationToken cancellationToken)
    {
        if (body.Role is not null && !AccountRoles.IsValid(body.Role))
        {
            return Problems.Field("role", "The role must be 'user' or 'admin'.");
        }

        var user = await db.Users.SingleOrDefaultAsync(u => u.Id == id, cancellationToken);
        if (user is null)
        {
            return Problems.NotFound("user");
        }

        user.Role = body.Role ?? user.Role;
        user.Disabled = body.Disabled ?? user.Disabled;
        await db.Users.Where(u => u.Id == id)
            .ExecuteUpdateAsync(u => u.SetProperty(x => x.Role, user.Role).SetProperty(x => x.Disabled, user.Disabled), cancellationToken);
        if (body.Disabled == true)
        {
            await SessionRevocation.RevokeAllAsync(db, revoked, id, keep: null, time.GetUtcNow().UtcDateTime, cancellationToken);
        }

        return TypedResults.Ok(await DescribeAsync(db, user, cancellationToken));
    }

    /// <summary>200 with the new balance; 400 when the amount is 0 or would leave the balance below zero; 404 for an unknown user.</summary>
    public static async Task<Results<Ok<BalanceAdjustedDto>, ValidationProblem, ProblemHttpResult>> AdjustBalance(
        Guid id, BalanceAdjustmentRequest body, ClaimsPrincipal principal, ParleyDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        if (body.Amount == 0)
        {
            return Problems.Field("amount", "The amount must not be 0.");
        }

        var kind = body.Amount > 0 ? TransactionKinds.TopUp : TransactionKinds.Correction;
        var reason = string.IsNullOrWhiteSpace(body.Reason) ? null : body.Reason.Trim();
        var balance = await Ledger.AdjustAsync(db, id, body.Amount, kind, principal.UserId(), reason, time.GetUtcNow().UtcDateTime, cancellationToken);
        if (balance is { } after)
        {
            return TypedResults.Ok(new BalanceAdjustedDto(id, after));
        }

        return await db.Users.AnyAsync(u => u.Id == id, cancellationToken)
            ? Problems.Field("amount", "The balance cannot go below zero.")
            : Problems.NotFound("user");
    }

    /// <summary>200 with the statistics.</summary>
    public static async Task<Ok<AdminStatsDto>> Stats(ParleyDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var since = time.GetUtcNow().UtcDateTime.AddHours(-24);
        var users = await db.Users.LongCountAsync(cancellationToken);
        var active = await db.Conversations.Where(c => c.UpdatedAt >= since && c.LastSequence > 0).Select(c => c.UserId).Distinct().LongCountAsync(cancellationToken);
        var conversations = await db.Conversations.LongCountAsync(cancellationToken);
        var messages = await db.Messages.LongCountAsync(cancellationToken);
        var turns = await db.Messages.Where(m => m.CreatedAt >= since && m.Role == "user").LongCountAsync(cancellationToken);
        var charged = await db.TokenTransactions
            .Where(t => t.CreatedAt >= since && (t.Kind == TransactionKinds.Message || t.Kind == TransactionKinds.Refund))
            .SumAsync(t => (long?)t.Amount, cancellationToken) ?? 0;
        var run = await db.JobRuns.AsNoTracking().SingleOrDefaultAsync(j => j.Name == RetentionService.JobName, cancellationToken);
        return TypedResults.Ok(new AdminStatsDto(users, active, conversations, messages, turns, -charged,
            run?.LastRunAt is { } finished ? new RetentionRunDto(Utc(finished), run.LastRunCount) : null));
    }

    private static async Task<AdminUserDto> DescribeAsync(ParleyDbContext db, User user, CancellationToken cancellationToken)
    {
        var last = await db.Conversations.Where(c => c.UserId == user.Id && c.LastSequence > 0).MaxAsync(c => (DateTime?)c.UpdatedAt, cancellationToken);
        var count = await db.Conversations.Where(c => c.UserId == user.Id).SumAsync(c => (long?)c.LastSequence, cancellationToken) ?? 0;
        var balance = await db.Users.Where(u => u.Id == user.Id).Select(u => u.TokenBalance).SingleAsync(cancellationToken);
        return new AdminUserDto(user.Id, user.UserName!, user.Email, user.Role, balance, user.Disabled, Utc(user.CreatedAt),
            last is { } l ? Utc(l) : null, count);
    }

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}
