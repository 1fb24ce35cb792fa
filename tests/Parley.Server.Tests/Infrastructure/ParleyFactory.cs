using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>
/// The Parley host in memory over one <see cref="TestDatabase"/>, with test defaults: rate limits off, a known JWT
/// signing key, a fixed engine node id, the echo bot without delay. <paramref name="settings"/> override any
/// configuration key (a null value removes the default); <paramref name="configureServices"/> replaces services (e.g.
/// the bot) after the host registered its own.
/// </summary>
public sealed class ParleyFactory(
    TestDatabase database,
    IReadOnlyDictionary<string, string?>? settings = null,
    Action<IServiceCollection>? configureServices = null) : WebApplicationFactory<Program>
{
    /// <summary>A password that satisfies the policy.</summary>
    public const string Password = "Correct-horse-7";

    /// <summary>The engine node id the tests run the host as.</summary>
    public const string NodeId = "test-node";

    /// <summary>The database (and data directory) the host uses.</summary>
    public TestDatabase Database { get; } = database;

    /// <summary>Every configuration key the host was given.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; } = Merge(database, settings);

    /// <summary>What the host logged at warning level or above.</summary>
    public LogSink Logs { get; } = new();

    /// <summary>The base64 JWT signing key the host uses, or null when it generates one into the data directory.</summary>
    public string? SigningKey => Settings.GetValueOrDefault("Jwt:SigningKey");

    /// <summary>Sets the defaults, then <see cref="Settings"/>, then the service replacements.</summary>
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in Settings)
        {
            if (value is not null)
            {
                builder.UseSetting(key, value);
            }
        }

        builder.ConfigureLogging(logging => logging.ClearProviders().AddProvider(Logs));
        if (configureServices is not null)
        {
            builder.ConfigureTestServices(configureServices);
        }
    }

    /// <summary>A client that sends <c>Authorization: Bearer <paramref name="accessToken"/></c> on every request.</summary>
    public HttpClient CreateClient(string accessToken) => CreateDefaultClient(new BearerTokenHandler(accessToken));

    /// <summary>Registers a new user (unique name unless given), logs in, and returns a client that sends its access token.</summary>
    public async Task<HttpClient> CreateUserClientAsync(string? userName = null) => (await CreateUserAsync(userName)).Client;

    /// <summary>Registers a new user (unique name unless given) and logs in.</summary>
    /// <param name="userName">The user name; a unique one when null.</param>
    /// <param name="email">An optional email address.</param>
    public async Task<TestUser> CreateUserAsync(string? userName = null, string? email = null)
    {
        userName ??= UniqueName();
        using var anonymous = CreateClient();
        using var registered = await anonymous.PostAsJsonAsync("/api/auth/register", new { userName, email, password = Password }, TestContext.Current.CancellationToken);
        Assert.True(registered.StatusCode == HttpStatusCode.Created,
            $"Registering failed: {(int)registered.StatusCode} {await registered.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}\n{string.Join('\n', Logs.Entries)}");
        var user = await registered.ReadAsync<UserBody>();
        var tokens = await LoginAsync(userName);
        return new TestUser(user.Id, userName, Password, tokens, CreateClient(tokens.AccessToken));
    }

    /// <summary>Logs in and returns the token pair (asserts 200).</summary>
    public async Task<TokenPairBody> LoginAsync(string userName, string password = Password)
    {
        using var anonymous = CreateClient();
        using var response = await anonymous.PostAsJsonAsync("/api/auth/login", new { userName, password }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadAsync<TokenPairBody>();
    }

    /// <summary>A user name no other test uses.</summary>
    public static string UniqueName() => "u" + Guid.NewGuid().ToString("N")[..16];

    private static Dictionary<string, string?> Merge(TestDatabase database, IReadOnlyDictionary<string, string?>? settings)
    {
        var merged = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["RateLimits:Enabled"] = "false",
            ["Jwt:SigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Engine:NodeId"] = NodeId,
            ["Bot:Echo:ChunkDelayMs"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            // Many hosts run in this process: each silo needs its own ports and cluster.
            ["Cluster:SiloPort"] = Parley.Testing.FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cluster:GatewayPort"] = Parley.Testing.FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cluster:ClusterId"] = "test-" + Guid.NewGuid().ToString("N")[..12],
        };
        foreach (var (key, value) in database.Settings)
        {
            merged[key] = value;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        return merged;
    }
}

/// <summary>A registered, logged-in user and a client that acts as them.</summary>
/// <param name="Id">User id.</param>
/// <param name="UserName">User name.</param>
/// <param name="Password">Password.</param>
/// <param name="Tokens">The token pair from login.</param>
/// <param name="Client">Sends <see cref="TokenPairBody.AccessToken"/> as a bearer token.</param>
public sealed record TestUser(Guid Id, string UserName, string Password, TokenPairBody Tokens, HttpClient Client);

/// <summary>Adds <c>Authorization: Bearer …</c> to every request.</summary>
public sealed class BearerTokenHandler(string accessToken) : DelegatingHandler
{
    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return base.SendAsync(request, cancellationToken);
    }
}
