using Microsoft.AspNetCore.Identity;

namespace Parley.Server.Data;

/// <summary>A Parley account: an ASP.NET Core Identity user with a token balance.</summary>
public sealed class User : IdentityUser<Guid>
{
    /// <summary>Tokens left; each accepted message costs <c>Quota:CostPerMessage</c>. Changed only by atomic SQL updates.</summary>
    public long TokenBalance { get; set; }

    /// <summary>When the account was created (UTC).</summary>
    public DateTime CreatedAt { get; set; }
}
