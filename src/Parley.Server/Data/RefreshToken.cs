namespace Parley.Server.Data;

/// <summary>A refresh token, stored as the SHA-256 of its value (the value itself is never stored).</summary>
public sealed class RefreshToken
{
    /// <summary>Row id.</summary>
    public Guid Id { get; set; }

    /// <summary>The session (token family).</summary>
    public Guid SessionId { get; set; }

    /// <summary>The user.</summary>
    public Guid UserId { get; set; }

    /// <summary>Base64url SHA-256 of the token value.</summary>
    public required string TokenHash { get; set; }

    /// <summary>Expiry (UTC).</summary>
    public DateTime ExpiresAt { get; set; }

    /// <summary>When it was exchanged for a new pair (rotation); presenting it again revokes the session.</summary>
    public DateTime? UsedAt { get; set; }
}
