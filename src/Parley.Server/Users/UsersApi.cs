using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Parley.Server.Accounts;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Users;

/// <summary>The caller's own account.</summary>
public static partial class UsersApi
{
    /// <summary>Maps <c>/api/users/me</c>: the account, balance, ledger, password, sessions and account deletion.</summary>
    public static RouteGroupBuilder MapUsers(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/users/me").WithTags("Users").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        group.MapGet("/", Me).WithName("GetMe").WithSummary("The caller's account, including the token balance.");
        group.MapGet("/balance", Balance).WithName("GetBalance").WithSummary("The caller's token balance and the cost of a message.");
        group.MapGet("/transactions", Transactions).WithName("ListTransactions")
            .WithSummary("The caller's token ledger, newest first: every change of the balance. limit 1–100 (default 50); cursor from the previous page.");
        group.MapPost("/password", ChangePassword).WithName("ChangePassword")
            .WithSummary("Change the password; every other session is revoked.");
        group.MapGet("/sessions", Sessions).WithName("ListSessions").WithSummary("The caller's live login sessions, newest first.");
        group.MapDelete("/sessions/{id:guid}", DeleteSession).WithName("DeleteSession").WithSummary("Log a session out (revoke it).");
        group.MapDelete("/", DeleteAccount).WithName("DeleteAccount")
            .WithSummary("Delete the account and all its data (conversations, messages, sessions, ledger); its tokens stop working.");
        return group;
    }

    /// <summary>200 with the caller; 401 when the account no longer exists.</summary>
    public static async Task<Results<Ok<UserDto>, UnauthorizedHttpResult>> Me(ClaimsPrincipal principal, ParleyDbContext db, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == userId, cancellationToken);
        return user is null ? TypedResults.Unauthorized() : TypedResults.Ok(UserDto.From(user));
    }

    /// <summary>200 with the balance; 401 when the account no longer exists.</summary>
    public static async Task<Results<Ok<BalanceDto>, UnauthorizedHttpResult>> Balance(
        ClaimsPrincipal principal, ParleyDbContext db, IOptions<QuotaOptions> quota, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var balance = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => (long?)u.TokenBalance).SingleOrDefaultAsync(cancellationToken);
        return balance is null ? TypedResults.Unauthorized() : TypedResults.Ok(new BalanceDto(balance.Value, quota.Value.CostPerMessage));
    }
}
