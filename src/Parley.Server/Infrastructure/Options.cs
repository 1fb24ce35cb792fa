using System.ComponentModel.DataAnnotations;

namespace Parley.Server.Infrastructure;

/// <summary>Host-wide settings (section <c>Parley</c>).</summary>
public sealed class ParleyOptions
{
    /// <summary>Directory for the SQLite database and the generated JWT signing key (<c>Parley:DataDirectory</c>, env <c>Parley__DataDirectory</c>). Default <c>data</c>, relative to the content root (<c>src/Parley.Server</c> under <c>dotnet run</c>).</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";
}

/// <summary>The database (section <c>Database</c>; connection string <c>ConnectionStrings:Parley</c>).</summary>
public sealed class DatabaseOptions
{
    /// <summary><c>Sqlite</c> (default, embedded, file <c>parley.db</c> in the data directory) or <c>PostgreSQL</c>.</summary>
    [Required, RegularExpression("^(?i)(sqlite|postgresql)$", ErrorMessage = "Database:Provider must be Sqlite or PostgreSQL.")]
    public string Provider { get; set; } = "Sqlite";

    /// <summary>SQLite <c>PRAGMA synchronous</c> of the turn writer in WAL mode: <c>FULL</c> (default; a commit survives power loss) or <c>NORMAL</c> (survives process crashes; a power loss may lose the last commits).</summary>
    [RegularExpression("^(?i)(full|normal)$", ErrorMessage = "Database:SqliteSynchronous must be FULL or NORMAL.")]
    public string SqliteSynchronous { get; set; } = "FULL";

    /// <summary>True when <see cref="Provider"/> is PostgreSQL.</summary>
    public bool IsPostgreSql => Provider.Equals("PostgreSQL", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Token balance rules (section <c>Quota</c>).</summary>
public sealed class QuotaOptions
{
    /// <summary>Tokens a new user starts with. Default 4,000.</summary>
    [Range(0, long.MaxValue, ErrorMessage = "Quota:InitialBalance must be between {1} and {2}.")]
    public long InitialBalance { get; set; } = 4_000;

    /// <summary>Tokens charged per accepted message in <see cref="Parley.Engine.Bots.QuotaMode.PerMessage"/> mode. Default 100.</summary>
    [Range(0, long.MaxValue, ErrorMessage = "Quota:CostPerMessage must be between {1} and {2}.")]
    public long CostPerMessage { get; set; } = 100;

    /// <summary><c>PerMessage</c> (default: <see cref="CostPerMessage"/> per message) or <c>PerToken</c> (prompt plus completion
    /// tokens used: the prompt estimate plus the model's <c>MaxOutputTokens</c> are reserved, the rest refunded).</summary>
    public Parley.Engine.Bots.QuotaMode Mode { get; set; } = Parley.Engine.Bots.QuotaMode.PerMessage;
}

/// <summary>Rate limits (section <c>RateLimits</c>), enforced with ASP.NET Core's rate limiter; exceeding one returns 429 with <c>Retry-After</c>.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Turn all limits off (tests, benchmarks). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Register/login/refresh requests per client IP per minute. Default 20.</summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:AuthPerMinute must be between {1} and {2}.")]
    public int AuthPerMinute { get; set; } = 20;

    /// <summary>Messages sent per user per minute. Default 60.</summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:MessagesPerMinute must be between {1} and {2}.")]
    public int MessagesPerMinute { get; set; } = 60;

    /// <summary>
    /// Costly requests per user per minute, per node: imports (up to <c>Import:MaxBytes</c> each), document uploads (up to
    /// <c>Knowledge:MaxBytes</c>, perhaps embedded by the provider), account exports and new share links. Default 10.
    /// </summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:BulkPerMinute must be between {1} and {2}.")]
    public int BulkPerMinute { get; set; } = 10;

    /// <summary>Reads of share links without login (<c>GET /api/shares/{id}</c>) per client IP per minute, per node. Default 120.</summary>
    [Range(1, int.MaxValue, ErrorMessage = "RateLimits:PublicPerMinute must be between {1} and {2}.")]
    public int PublicPerMinute { get; set; } = 120;
}

/// <summary>The OpenAPI document and Swagger UI (section <c>OpenApi</c>).</summary>
public sealed class OpenApiSettings
{
    /// <summary>Serve <c>/openapi/v1.json</c> and <c>/swagger</c>. Default true (also in Production).</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>Reverse proxies whose <c>X-Forwarded-For</c> is trusted (section <c>ForwardedHeaders</c>); loopback is always trusted.</summary>
public sealed class ForwardedHeadersSettings : IValidatableObject
{
    /// <summary>Proxy addresses, e.g. <c>10.0.0.5</c>.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Proxy networks in CIDR notation, e.g. <c>10.42.0.0/16</c> (a Kubernetes pod network, where ingress pods change address).</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var proxy in KnownProxies.Where(p => !System.Net.IPAddress.TryParse(p, out _)))
        {
            yield return new ValidationResult($"ForwardedHeaders:KnownProxies: '{proxy}' is not an IP address.", [nameof(KnownProxies)]);
        }

        foreach (var network in KnownNetworks.Where(n => !System.Net.IPNetwork.TryParse(n, out _)))
        {
            yield return new ValidationResult($"ForwardedHeaders:KnownNetworks: '{network}' is not a CIDR network such as 10.0.0.0/8.", [nameof(KnownNetworks)]);
        }
    }
}
