using System.ComponentModel.DataAnnotations;

namespace Parley.Server.Accounts;

/// <summary>Access and refresh tokens (section <c>Jwt</c>).</summary>
public sealed class JwtOptions
{
    /// <summary>Token issuer (<c>iss</c>, RFC 7519 §4.1.1). Default <c>parley</c>.</summary>
    [Required]
    public string Issuer { get; set; } = "parley";

    /// <summary>Token audience (<c>aud</c>, RFC 7519 §4.1.3). Default <c>parley</c>.</summary>
    [Required]
    public string Audience { get; set; } = "parley";

    /// <summary>HMAC-SHA256 key, base64, at least 256 bits. When empty a key is generated into the data directory (owner-only) on first start. Nodes sharing a database must share it.</summary>
    public string? SigningKey { get; set; }

    /// <summary>Access token lifetime in minutes. Default 15.</summary>
    [Range(1, 1440, ErrorMessage = "Jwt:AccessTokenMinutes must be between {1} and {2}.")]
    public int AccessTokenMinutes { get; set; } = 15;

    /// <summary>Refresh token lifetime in days. Default 14.</summary>
    [Range(1, 365, ErrorMessage = "Jwt:RefreshTokenDays must be between {1} and {2}.")]
    public int RefreshTokenDays { get; set; } = 14;

    /// <summary>How often each node reloads revoked sessions written by other nodes, in seconds: the bound on how long a logged-out access token may still work elsewhere. Default 5.</summary>
    [Range(1, 300, ErrorMessage = "Jwt:RevocationPollSeconds must be between {1} and {2}.")]
    public int RevocationPollSeconds { get; set; } = 5;

    /// <summary>
    /// Seconds after a refresh during which presenting the same refresh token again (a second tab refreshing at the same
    /// moment) returns the same new pair instead of revoking the session, on the same node. 0 turns the grace off. Default 10.
    /// </summary>
    [Range(0, 60, ErrorMessage = "Jwt:RefreshReuseGraceSeconds must be between {1} and {2}.")]
    public int RefreshReuseGraceSeconds { get; set; } = 10;
}
