using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Health, OpenAPI, security headers, unknown routes, authentication on every route, the exception handler, rate limits.</summary>
public abstract class HostTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    /// <summary>Every API operation: method, path template, and status codes its OpenAPI entry must list.</summary>
    public static TheoryData<string, string, int[]> Operations => new()
    {
        { "post", "/api/auth/register", [201, 400, 409, 429] },
        { "post", "/api/auth/login", [200, 400, 401, 429] },
        { "post", "/api/auth/refresh", [200, 400, 401, 429] },
        { "post", "/api/auth/logout", [204, 401] },
        { "get", "/api/users/me", [200, 401] },
        { "get", "/api/users/me/balance", [200, 401] },
        { "get", "/api/conversations", [200, 400, 401] },
        { "post", "/api/conversations", [201, 400, 401] },
        { "get", "/api/conversations/{id}", [200, 401, 404] },
        { "patch", "/api/conversations/{id}", [200, 400, 401, 404] },
        { "delete", "/api/conversations/{id}", [204, 401, 404] },
        { "get", "/api/conversations/{id}/messages", [200, 400, 401, 404] },
        { "post", "/api/conversations/{id}/messages", [200, 400, 401, 402, 404, 409, 429, 502, 503] },
        { "post", "/api/chat", [200, 400, 401, 402, 404, 429, 502, 503] },
        { "post", "/api/documents", [201, 400, 401, 413, 415] },
        { "get", "/api/documents", [200, 401] },
        { "get", "/api/documents/{id}", [200, 401, 404] },
        { "delete", "/api/documents/{id}", [204, 401, 404] },
    };

    /// <summary>Every route that needs a bearer token.</summary>
    public static TheoryData<string, string> ProtectedRoutes => new()
    {
        { "POST", "/api/auth/logout" },
        { "GET", "/api/users/me" },
        { "GET", "/api/users/me/balance" },
        { "GET", "/api/conversations" },
        { "POST", "/api/conversations" },
        { "GET", $"/api/conversations/{Guid.Empty}" },
        { "PATCH", $"/api/conversations/{Guid.Empty}" },
        { "DELETE", $"/api/conversations/{Guid.Empty}" },
        { "GET", $"/api/conversations/{Guid.Empty}/messages" },
        { "POST", $"/api/conversations/{Guid.Empty}/messages" },
        { "POST", "/api/chat" },
        { "POST", "/api/documents" },
        { "GET", "/api/documents" },
        { "DELETE", $"/api/documents/{Guid.Empty}" },
    };

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task HealthEndpointsAnswer200(string path)
    {
        using var client = Factory.CreateClient();

        using var response = await client.GetAsync(path, Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync(Cancel));
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/api/users/me")]
    [InlineData("/api/nothing-here")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/swagger/index.html")]
    public async Task SecurityHeadersArePresentOnEveryResponse(string path)
    {
        using var client = Factory.CreateClient();

        using var response = await client.GetAsync(path, Cancel);

        var csp = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        var directives = csp.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(d => d.Split(' ')[0], d => d.Split(' ').Skip(1).ToArray());
        Assert.DoesNotContain("'unsafe-inline'", directives.GetValueOrDefault("script-src", directives["default-src"]));
        Assert.DoesNotContain("'unsafe-eval'", directives.GetValueOrDefault("script-src", directives["default-src"]));
        Assert.Equal(["'none'"], directives["frame-ancestors"]);
        Assert.Equal(["'none'"], directives["object-src"]);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task TheOpenApiDocumentDescribesEveryOperationWithItsResponses(string method, string path, int[] statuses)
    {
        using var client = Factory.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json", Cancel);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel));

        var paths = document.RootElement.GetProperty("paths");
        Assert.True(paths.TryGetProperty(path, out var item), $"{path} is missing from the OpenAPI document");
        Assert.True(item.TryGetProperty(method, out var operation), $"{method.ToUpperInvariant()} {path} is missing");
        var responses = operation.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToHashSet();
        foreach (var status in statuses)
        {
            Assert.True(responses.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                $"{method.ToUpperInvariant()} {path} does not list {status}; it lists {string.Join(", ", responses.Order())}");
        }
    }

    [Fact]
    public async Task TheOpenApiDocumentDeclaresTheBearerScheme()
    {
        using var client = Factory.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json", Cancel);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel));

        var scheme = document.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal(("http", "bearer"), (scheme.GetProperty("type").GetString(), scheme.GetProperty("scheme").GetString()));
        Assert.Equal("Parley API", document.RootElement.GetProperty("info").GetProperty("title").GetString());
    }

    [Fact]
    public async Task SwaggerUiIsServedOverTheDocument()
    {
        using var client = Factory.CreateClient();

        using var response = await client.GetAsync("/swagger/index.html", Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);

        // The CSP forbids inline scripts, so the page must load all of its script from files or it would not run.
        var html = await response.Content.ReadAsStringAsync(Cancel);
        var inline = System.Text.RegularExpressions.Regex.Matches(html, @"<script(?![^>]*\bsrc=)[^>]*>\s*\S", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        Assert.True(inline.Count == 0, $"Swagger UI has inline scripts the CSP blocks: {string.Join(" | ", inline.Select(m => m.Value))}");
    }

    [Theory]
    [InlineData("GET", "/api/nothing-here")]
    [InlineData("POST", "/api/conversations/messages")]
    [InlineData("GET", "/api/users/someone-else")]
    public async Task UnknownApiRoutesAreNotFoundProblems(string method, string path)
    {
        var client = await Factory.CreateUserClientAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        using var response = await client.SendAsync(request, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [MemberData(nameof(ProtectedRoutes))]
    public async Task ProtectedRoutesRequireABearerToken(string method, string path)
    {
        using var client = Factory.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PATCH")
        {
            request.Content = JsonContent.Create(new { title = "t", content = "c", message = "m" });
        }

        using var response = await client.SendAsync(request, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
    }

    [Fact]
    public async Task EngineDiagnosticsAreServedToLoopbackCallers()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        await client.SendAsync(conversation.Id, "count me");
        using var anonymous = Factory.CreateClient();

        using var response = await anonymous.GetAsync("/diagnostics/engine", Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel));
        Assert.True(document.RootElement.GetProperty("commitOperations").GetInt64() >= 1);
        Assert.True(document.RootElement.GetProperty("engine").GetProperty("turnsCompleted").GetInt64() >= 1);
        Assert.Equal(JsonValueKind.Object, document.RootElement.GetProperty("engine").ValueKind);
    }

    [Fact]
    public async Task EngineDiagnosticsAreHiddenFromRemoteCallers()
    {
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services =>
            services.AddTransient<IStartupFilter>(_ => new RemoteCaller()));
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/diagnostics/engine", Cancel);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task UnexpectedErrorsBecome500ProblemsWithATraceIdAndNoInternals()
    {
        // The database fails in a way nothing handles: EF Core commands on conversations throw.
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services =>
        {
            Action<DbContextOptionsBuilder> addFault = options => options.AddInterceptors(new ConversationQueriesFail());
            if (Fixture.Provider == DatabaseProvider.Sqlite)
            {
                services.ConfigureDbContext<SqliteParleyDbContext>(addFault);
            }
            else
            {
                services.ConfigureDbContext<PostgresParleyDbContext>(addFault);
            }
        });
        var client = await factory.CreateUserClientAsync();

        using var response = await client.GetAsync("/api/conversations", Cancel);

        var problem = await response.AssertProblemAsync(HttpStatusCode.InternalServerError);
        var body = JsonSerializer.Serialize(problem);
        Assert.DoesNotContain(ConversationQueriesFail.Secret, body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.DoesNotContain("SELECT", body, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(factory.Logs.Entries, entry => entry.Contains(ConversationQueriesFail.Secret, StringComparison.Ordinal)); // logged, not shown
    }

    [Fact]
    public async Task AuthRequestsAreRateLimitedPerClient()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?>
        {
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:AuthPerMinute"] = "3",
        });
        using var client = factory.CreateClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var allowed = await client.PostAsJsonAsync("/api/auth/login", new { userName = "nobody", password = "Wrong-password-1" }, Cancel);
            statuses.Add(allowed.StatusCode);
        }

        using var limited = await client.PostAsJsonAsync("/api/auth/register", new { userName = ParleyFactory.UniqueName(), password = ParleyFactory.Password }, Cancel);

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.True(int.Parse(Assert.Single(limited.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task SendsAreRateLimitedPerUser()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?>
        {
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:AuthPerMinute"] = "100",
            ["RateLimits:MessagesPerMinute"] = "2",
        });
        var alice = await factory.CreateUserClientAsync();
        var bob = await factory.CreateUserClientAsync();
        var conversation = await alice.CreateConversationAsync();
        await alice.SendAsync(conversation.Id, "one");
        using var chat = await alice.PostAsJsonAsync("/api/chat", new { message = "two", conversationId = conversation.Id }, Cancel);
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

        using var limited = await alice.PostMessageAsync(conversation.Id, "three");

        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal(4, (await alice.GetAllMessagesAsync(conversation.Id)).Count);
        Assert.Equal(3800, await alice.GetBalanceAsync());
        var other = await bob.CreateConversationAsync();
        await bob.SendAsync(other.Id, "bob has his own budget");
    }

    [Fact]
    public async Task CostlyRequestsAreRateLimitedPerUser()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?>
        {
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:AuthPerMinute"] = "100",
            ["RateLimits:BulkPerMinute"] = "2",
        });
        var alice = await factory.CreateUserClientAsync();
        var bob = await factory.CreateUserClientAsync();
        var conversation = await alice.CreateConversationAsync("Shared");
        using (var share = await alice.PostAsync($"/api/conversations/{conversation.Id}/shares", null, Cancel))
        {
            Assert.Equal(HttpStatusCode.Created, share.StatusCode);
        }

        using (var export = await alice.GetAsync("/api/users/me/export", Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        }

        using var limited = await alice.PostAsync($"/api/conversations/{conversation.Id}/shares", null, Cancel);

        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.True(limited.Headers.Contains("Retry-After"));
        using var shares = await alice.GetAsync("/api/shares", Cancel);
        Assert.Single((await shares.ReadAsync<PageBody<ShareBody>>()).Items); // the refused request made no link
        using var bobs = await bob.GetAsync("/api/users/me/export", Cancel);
        Assert.Equal(HttpStatusCode.OK, bobs.StatusCode); // bob has his own budget
    }

    [Fact]
    public async Task AnonymousShareReadsAreRateLimitedPerClient()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?>
        {
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:AuthPerMinute"] = "100",
            ["RateLimits:PublicPerMinute"] = "3",
        });
        var owner = await factory.CreateUserClientAsync();
        var conversation = await owner.CreateConversationAsync("Shared");
        using var created = await owner.PostAsync($"/api/conversations/{conversation.Id}/shares", null, Cancel);
        var link = await created.ReadAsync<ShareBody>();
        using var anonymous = factory.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            using var read = await anonymous.GetAsync($"/api/shares/{link.Id}", Cancel);
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        using var limited = await anonymous.GetAsync($"/api/shares/{link.Id}", Cancel);

        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task RateLimitsAreOffWhenDisabled()
    {
        // The default test host runs with RateLimits:Enabled=false: well past the default 20 auth requests a minute.
        using var client = Factory.CreateClient();

        for (var i = 0; i < 25; i++)
        {
            // A new name each time: five failures with one name lock logins with it, account or not.
            using var response = await client.PostAsJsonAsync("/api/auth/login", new { userName = ParleyFactory.UniqueName(), password = "Wrong-password-1" }, Cancel);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task TheAuthLimitSeesClientAddressesBehindATrustedProxyNetwork()
    {
        // As in deploy/k8s: the proxy (203.0.113.7 here) is trusted as part of a network, not by its address.
        await using var factory = await Fixture.StartFactoryAsync(
            new Dictionary<string, string?>
            {
                ["RateLimits:Enabled"] = "true",
                ["RateLimits:AuthPerMinute"] = "1",
                ["ForwardedHeaders:KnownNetworks:0"] = "203.0.113.0/24",
            },
            services => services.AddTransient<IStartupFilter>(_ => new RemoteCaller()));
        using var client = factory.CreateClient();

        async Task<HttpStatusCode> LoginFromAsync(string clientAddress)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
            {
                Content = JsonContent.Create(new { userName = ParleyFactory.UniqueName(), password = "Wrong-password-1" }),
            };
            request.Headers.Add("X-Forwarded-For", clientAddress);
            using var response = await client.SendAsync(request, Cancel);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await LoginFromAsync("198.51.100.1"));
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginFromAsync("198.51.100.2")); // another client: its own limit
        Assert.Equal(HttpStatusCode.TooManyRequests, await LoginFromAsync("198.51.100.1"));
    }

    /// <summary>Makes every request look as if it came from a public address.</summary>
    private sealed class RemoteCaller : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    /// <summary>Throws from every EF Core command that reads conversations.</summary>
    private sealed class ConversationQueriesFail : DbCommandInterceptor
    {
        public const string Secret = "connection to 10.1.2.3 refused (test fault)";

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) =>
            command.CommandText.Contains("FROM \"Conversations\"", StringComparison.Ordinal)
                ? throw new InvalidOperationException(Secret)
                : ValueTask.FromResult(result);
    }
}

public sealed class HostOnSqlite(SqliteFixture fixture) : HostTests<SqliteFixture>(fixture);

public sealed class HostOnPostgreSql(PostgreSqlFixture fixture) : HostTests<PostgreSqlFixture>(fixture);
