using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Parley.Server.Data;

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
