using Parley.Server.Data;

namespace Parley.Server.Users;

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

/// <summary>Response of <c>GET /api/users/me/balance</c>.</summary>
/// <param name="TokenBalance">Tokens left.</param>
/// <param name="CostPerMessage">Tokens charged per accepted message (<c>Quota:CostPerMessage</c>).</param>
public sealed record BalanceDto(long TokenBalance, long CostPerMessage);
