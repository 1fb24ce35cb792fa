using Parley.Server.Data;

namespace Parley.Server.Users;

/// <summary>A user as the API shows it.</summary>
/// <param name="Id">User id.</param>
/// <param name="UserName">User name.</param>
/// <param name="Email">Email, if given.</param>
/// <param name="TokenBalance">Tokens left.</param>
/// <param name="CreatedAt">Registration time (UTC, ISO 8601).</param>
/// <param name="Role"><c>user</c> or <c>admin</c>.</param>
public sealed record UserDto(Guid Id, string UserName, string? Email, long TokenBalance, DateTimeOffset CreatedAt, string Role)
{
    internal static UserDto From(User user) =>
        new(user.Id, user.UserName!, user.Email, user.TokenBalance, DateTime.SpecifyKind(user.CreatedAt, DateTimeKind.Utc), user.Role);
}

/// <summary>Response of <c>POST /api/auth/register</c>: the new user, already logged in.</summary>
/// <param name="Id">User id.</param>
/// <param name="UserName">User name.</param>
/// <param name="Email">Email, if given.</param>
/// <param name="TokenBalance">Tokens to start with (<c>Quota:InitialBalance</c>).</param>
/// <param name="CreatedAt">Registration time (UTC).</param>
/// <param name="Role"><c>user</c> (or <c>admin</c> when named in <c>Admin:Users</c>).</param>
/// <param name="Tokens">The first session's token pair, as login returns it.</param>
public sealed record RegisteredDto(Guid Id, string UserName, string? Email, long TokenBalance, DateTimeOffset CreatedAt, string Role, Accounts.TokenPair Tokens);

/// <summary>One row of the caller's token ledger.</summary>
/// <param name="Id">Row id.</param>
/// <param name="Kind"><c>initial</c>, <c>message</c>, <c>refund</c>, <c>topup</c>, <c>refill</c> or <c>correction</c>.</param>
/// <param name="Amount">Tokens added (positive) or taken (negative).</param>
/// <param name="BalanceAfter">The balance right after.</param>
/// <param name="MessageId">For <c>message</c> and <c>refund</c>: the user message.</param>
/// <param name="Reason">For <c>topup</c> and <c>correction</c>: the admin's reason.</param>
/// <param name="CreatedAt">When (UTC).</param>
public sealed record TransactionDto(Guid Id, string Kind, long Amount, long BalanceAfter, Guid? MessageId, string? Reason, DateTimeOffset CreatedAt)
{
    internal static TransactionDto From(TokenTransaction t) =>
        new(t.Id, t.Kind, t.Amount, t.BalanceAfter, t.MessageId, t.Reason, DateTime.SpecifyKind(t.CreatedAt, DateTimeKind.Utc));
}

/// <summary>One of the caller's live login sessions.</summary>
/// <param name="Id">Session id.</param>
/// <param name="UserAgent">The browser or client that logged in, if it said.</param>
/// <param name="CreatedAt">Login time (UTC).</param>
/// <param name="LastUsedAt">Last login or token refresh (UTC).</param>
/// <param name="Current">True for the session of the access token making this request.</param>
public sealed record SessionDto(Guid Id, string? UserAgent, DateTimeOffset CreatedAt, DateTimeOffset LastUsedAt, bool Current);

/// <summary>Body of <c>POST /api/users/me/password</c>.</summary>
/// <param name="CurrentPassword">The password now.</param>
/// <param name="NewPassword">The new password (the registration policy).</param>
public sealed record ChangePasswordRequest(
    [property: System.ComponentModel.DataAnnotations.Required(ErrorMessage = "The current password is required.")] string? CurrentPassword,
    [property: System.ComponentModel.DataAnnotations.Required(ErrorMessage = "A new password is required.")] string? NewPassword);

/// <summary>Body of <c>DELETE /api/users/me</c>.</summary>
/// <param name="Password">The password, to confirm.</param>
public sealed record DeleteAccountRequest([property: System.ComponentModel.DataAnnotations.Required(ErrorMessage = "The password is required.")] string? Password);

/// <summary>Response of <c>GET /api/users/me/balance</c>.</summary>
/// <param name="TokenBalance">Tokens left.</param>
/// <param name="CostPerMessage">Tokens charged per accepted message (<c>Quota:CostPerMessage</c>).</param>
public sealed record BalanceDto(long TokenBalance, long CostPerMessage);
