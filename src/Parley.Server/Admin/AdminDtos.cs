namespace Parley.Server.Admin;

/// <summary>A user as the admin API lists it.</summary>
/// <param name="Id">User id.</param>
/// <param name="UserName">User name.</param>
/// <param name="Email">Email, if given.</param>
/// <param name="Role"><c>user</c> or <c>admin</c>.</param>
/// <param name="TokenBalance">Tokens left.</param>
/// <param name="Disabled">True when the account is disabled (cannot log in; its sessions were revoked).</param>
/// <param name="CreatedAt">Registration time (UTC).</param>
/// <param name="LastActiveAt">Time of the user's newest message (UTC), null when none.</param>
/// <param name="MessageCount">Messages stored in the user's conversations (theirs and the replies).</param>
public sealed record AdminUserDto(
    Guid Id, string UserName, string? Email, string Role, long TokenBalance, bool Disabled,
    DateTimeOffset CreatedAt, DateTimeOffset? LastActiveAt, long MessageCount);

/// <summary>Body of <c>PATCH /api/admin/users/{id}</c>: what to change (omitted members stay).</summary>
/// <param name="Disabled">Disable (revokes every session at once) or re-enable the account.</param>
/// <param name="Role"><c>user</c> or <c>admin</c>.</param>
public sealed record UpdateUserRequest(bool? Disabled, string? Role);

/// <summary>Body of <c>POST /api/admin/users/{id}/balance</c>.</summary>
/// <param name="Amount">Tokens to add (a top-up, positive) or take (a correction, negative); not 0; the balance never goes below 0.</param>
/// <param name="Reason">Why, recorded in the ledger (at most 200 characters).</param>
public sealed record BalanceAdjustmentRequest(
    [property: System.ComponentModel.DataAnnotations.Range(-1_000_000_000_000, 1_000_000_000_000, ErrorMessage = "The amount must be between -10^12 and 10^12.")] long Amount,
    [property: System.ComponentModel.DataAnnotations.MaxLength(200, ErrorMessage = "The reason must be at most 200 characters.")] string? Reason);

/// <summary>The result of a balance adjustment.</summary>
/// <param name="UserId">The user.</param>
/// <param name="TokenBalance">The balance after it.</param>
public sealed record BalanceAdjustedDto(Guid UserId, long TokenBalance);

/// <summary>Response of <c>GET /api/admin/stats</c>. "Last 24 h" is counted back from the request's time.</summary>
/// <param name="Users">Accounts.</param>
/// <param name="ActiveUsers">Users with a conversation active in the last 24 h.</param>
/// <param name="Conversations">Conversations stored.</param>
/// <param name="Messages">Messages stored.</param>
/// <param name="Turns24h">User messages accepted in the last 24 h.</param>
/// <param name="TokensCharged24h">Tokens charged in the last 24 h, net of refunds.</param>
/// <param name="LastRetentionRun">The last retention run, null when none ran.</param>
public sealed record AdminStatsDto(
    long Users, long ActiveUsers, long Conversations, long Messages, long Turns24h, long TokensCharged24h, RetentionRunDto? LastRetentionRun);

/// <summary>A retention run.</summary>
/// <param name="FinishedAt">When it finished (UTC).</param>
/// <param name="Deleted">Conversations it deleted.</param>
public sealed record RetentionRunDto(DateTimeOffset FinishedAt, long Deleted);
