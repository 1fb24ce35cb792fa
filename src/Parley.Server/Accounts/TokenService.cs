using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Parley.Server.Data;

namespace Parley.Server.Accounts;

/// <summary>An access token and a refresh token, as returned by login and refresh.</summary>
/// <param name="AccessToken">A JWT (RFC 7519) signed with HS256; send it as <c>Authorization: Bearer</c> (RFC 6750).</param>
/// <param name="TokenType">Always <c>Bearer</c>.</param>
/// <param name="ExpiresIn">Access token lifetime in seconds (RFC 6749 §5.1).</param>
/// <param name="RefreshToken">An opaque single-use token for <c>POST /api/auth/refresh</c>, valid <c>Jwt:RefreshTokenDays</c> days.</param>
public sealed record TokenPair(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken);

/// <summary>Mints access tokens and refresh tokens.</summary>
public sealed class TokenService(IOptions<JwtOptions> options, SigningKey signingKey, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new();

    /// <summary>The claim that carries the session id (OpenID Connect Front-Channel Logout §3's <c>sid</c>).</summary>
    public const string SessionClaim = "sid";

    /// <summary>Adds a new refresh token for <paramref name="session"/> to <paramref name="db"/> (saved by the caller) and mints an access token.</summary>
    public TokenPair Issue(ParleyDbContext db, User user, AuthSession session)
    {
        var settings = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        var refresh = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        db.RefreshTokens.Add(new RefreshToken
        {
            Id = Guid.CreateVersion7(),
            SessionId = session.Id,
            UserId = user.Id,
            TokenHash = Hash(refresh),
            ExpiresAt = now.AddDays(settings.RefreshTokenDays),
        });

        var lifetime = TimeSpan.FromMinutes(settings.AccessTokenMinutes);
        var access = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = settings.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(signingKey.Key, SecurityAlgorithms.HmacSha256),
            Subject = new ClaimsIdentity(
            [
                new Claim(JwtRegisteredClaimNames.Sub, user.Id.ToString()),
                new Claim(JwtRegisteredClaimNames.UniqueName, user.UserName ?? ""),
                new Claim(SessionClaim, session.Id.ToString()),
                new Claim(JwtRegisteredClaimNames.Jti, Guid.NewGuid().ToString("N")),
            ]),
        });
        return new TokenPair(access, "Bearer", (int)lifetime.TotalSeconds, refresh);
    }

    /// <summary>Base64url SHA-256 of a refresh token, the form it is stored and looked up in.</summary>
    public static string Hash(string refreshToken) => WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.UTF8.GetBytes(refreshToken)));
}
