using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>Mints access tokens that differ from a real one in exactly one respect (key, lifetime, audience, issuer, claims).</summary>
public static class TokenForge
{
    /// <summary>A random HS256 key, base64.</summary>
    public static string RandomKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The claims of a real access token.</summary>
    public static JsonWebToken Read(string accessToken) => new(accessToken);

    /// <summary>Signs a token like the server's, with the given key, claims and times.</summary>
    /// <param name="signingKey">Base64 HMAC key.</param>
    /// <param name="subject">The <c>sub</c> claim (user id).</param>
    /// <param name="sessionId">The <c>sid</c> claim.</param>
    /// <param name="issuedAt">Issue time; <c>nbf</c> too.</param>
    /// <param name="lifetime">Time until <c>exp</c>.</param>
    /// <param name="audience">The <c>aud</c> claim.</param>
    /// <param name="issuer">The <c>iss</c> claim.</param>
    public static string Mint(
        string signingKey,
        string subject,
        string sessionId,
        DateTime? issuedAt = null,
        TimeSpan? lifetime = null,
        string audience = "parley",
        string issuer = "parley")
    {
        var now = issuedAt ?? DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime ?? TimeSpan.FromMinutes(15)),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(signingKey)), SecurityAlgorithms.HmacSha256),
            Subject = new ClaimsIdentity(
            [
                new Claim(JwtRegisteredClaimNames.Sub, subject),
                new Claim(JwtRegisteredClaimNames.UniqueName, "forged"),
                new Claim("sid", sessionId),
                new Claim(JwtRegisteredClaimNames.Jti, Guid.NewGuid().ToString("N")),
            ]),
        });
    }
}
