using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Accounts;

/// <summary>The HMAC-SHA256 key that signs access tokens.</summary>
/// <remarks>
/// From <c>Jwt:SigningKey</c> (base64, ≥ 256 bits as RFC 7518 §3.2 requires for HS256) when set; otherwise read from —
/// or generated once into — <c>jwt-signing.key</c> in the data directory with owner-only permissions, so tokens survive
/// restarts. Several nodes must share a configured key.
/// </remarks>
public sealed class SigningKey
{
    /// <summary>The key.</summary>
    public SymmetricSecurityKey Key { get; }

    /// <summary>Loads or generates the key.</summary>
    /// <exception cref="InvalidOperationException">The configured key is not base64 or shorter than 256 bits.</exception>
    public SigningKey(IOptions<JwtOptions> options, IConfiguration configuration)
    {
        var configured = options.Value.SigningKey;
        byte[] bytes;
        if (!string.IsNullOrWhiteSpace(configured))
        {
            bytes = Decode(configured, "Jwt:SigningKey");
        }
        else
        {
            var path = Path.Combine(DataDirectory.Resolve(configuration), "jwt-signing.key");
            if (File.Exists(path))
            {
                bytes = Decode(File.ReadAllText(path).Trim(), path);
            }
            else
            {
                bytes = RandomNumberGenerator.GetBytes(32);
                var text = Convert.ToBase64String(bytes);
                if (OperatingSystem.IsWindows())
                {
                    File.WriteAllText(path, text);
                }
                else
                {
                    using var file = new FileStream(path, new FileStreamOptions
                    {
                        Mode = FileMode.CreateNew,
                        Access = FileAccess.Write,
                        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                    });
                    file.Write(Encoding.ASCII.GetBytes(text));
                }
            }
        }

        Key = new SymmetricSecurityKey(bytes) { KeyId = Convert.ToHexString(SHA256.HashData(bytes))[..16] };
    }

    /// <summary>True when <paramref name="base64"/> is base64 of at least 256 bits, as a configured key must be.</summary>
    public static bool IsValid(string base64) =>
        Convert.TryFromBase64String(base64, new byte[base64.Length], out var length) && length >= 32;

    private static byte[] Decode(string base64, string source)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{source} is not valid base64.");
        }

        return bytes.Length >= 32 ? bytes : throw new InvalidOperationException($"{source} must be at least 256 bits (32 bytes).");
    }
}

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

/// <summary>
/// Revoked login sessions, cached in RAM so every authenticated request checks its <c>sid</c> claim without a query.
/// This node's revocations are added at once; other nodes' are read from the database every
/// <c>Jwt:RevocationPollSeconds</c> (default 5 s), the bound on how long a revoked access token may still work elsewhere.
/// </summary>
public sealed partial class RevokedSessions(
    IServiceScopeFactory scopes,
    IOptions<JwtOptions> options,
    TimeProvider time,
    ILogger<RevokedSessions> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, DateTime> _revoked = new();
    private DateTime _watermark = DateTime.MinValue;

    /// <summary>True when the session was revoked.</summary>
    public bool IsRevoked(Guid sessionId) => _revoked.ContainsKey(sessionId);

    /// <summary>Records a revocation made by this node.</summary>
    public void Add(Guid sessionId) => _revoked[sessionId] = time.GetUtcNow().UtcDateTime;

    /// <summary>Reads revocations newer than the last poll (from start: those young enough to matter, i.e. within an access token lifetime).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var lifetime = TimeSpan.FromMinutes(options.Value.AccessTokenMinutes);
        // Overlap polls by a minute to tolerate clock skew between nodes.
        var since = _watermark == DateTime.MinValue ? now - lifetime : _watermark - TimeSpan.FromMinutes(1);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
        var revoked = await db.AuthSessions.AsNoTracking()
            .Where(s => s.RevokedAt != null && s.RevokedAt > since)
            .Select(s => new { s.Id, s.RevokedAt })
            .ToListAsync(cancellationToken);
        foreach (var session in revoked)
        {
            _revoked[session.Id] = session.RevokedAt!.Value;
        }

        foreach (var (id, at) in _revoked)
        {
            if (now - at > lifetime + TimeSpan.FromMinutes(2))
            {
                _revoked.TryRemove(id, out _); // every access token of that session has expired
            }
        }

        _watermark = now;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RevocationPollSeconds), time);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPollFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading revoked sessions failed; retrying at the next poll")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
