namespace Parley.Server.Data;

/// <summary>A login session: the family of its rotating refresh tokens and the <c>sid</c> claim of its access tokens.</summary>
public sealed class AuthSession
{
    /// <summary>Session id, carried in access tokens as the <c>sid</c> claim.</summary>
    public Guid Id { get; set; }

    /// <summary>The user.</summary>
    public Guid UserId { get; set; }

    /// <summary>Login time (UTC).</summary>
    public DateTime CreatedAt { get; set; }

    /// <summary>When logout or refresh-token reuse ended the session (UTC); its access tokens stop working then.</summary>
    public DateTime? RevokedAt { get; set; }

    /// <summary>The <c>User-Agent</c> of the login (at most 256 characters), to tell sessions apart.</summary>
    public string? UserAgent { get; set; }

    /// <summary>Last login or token refresh of the session (UTC).</summary>
    public DateTime LastUsedAt { get; set; }
}
