using Microsoft.AspNetCore.Identity;

namespace Parley.Server.Data;

/// <summary>A Parley account: an ASP.NET Core Identity user with a token balance.</summary>
public sealed class User : IdentityUser<Guid>
{
    /// <summary>Tokens left; each accepted message costs <c>Quota:CostPerMessage</c>. Changed only by atomic SQL updates.</summary>
    public long TokenBalance { get; set; }

    /// <summary>When the account was created (UTC).</summary>
    public DateTime CreatedAt { get; set; }

    /// <summary><see cref="AccountRoles.User"/> or <see cref="AccountRoles.Admin"/>; checked against the database on every admin request.</summary>
    public string Role { get; set; } = AccountRoles.User;

    /// <summary>A disabled user cannot log in or refresh; disabling revokes every session.</summary>
    public bool Disabled { get; set; }

    /// <summary>When <c>Quota:Refill</c> last topped the balance up (UTC); null before the first refill.</summary>
    public DateTime? LastRefillAt { get; set; }
}

/// <summary>The roles a user can have.</summary>
public static class AccountRoles
{
    /// <summary>Every user.</summary>
    public const string User = "user";

    /// <summary>May use <c>/api/admin/*</c>.</summary>
    public const string Admin = "admin";

    /// <summary>True for a known role name.</summary>
    public static bool IsValid(string? role) => role is User or Admin;
}
