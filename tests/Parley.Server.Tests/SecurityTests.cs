using System.Data.Common;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// The findings of the black-box attack (issue 14), one regression test each: login timing, concurrent logins, parallel
/// guesses against the lockout, what a lockout reveals, rename racing delete, tokens of deleted users, headers on
/// exception-handler responses, caching of token responses. Races start their requests together behind a gate and
/// are repeated enough to fail reliably on the unfixed code.
/// </summary>
public abstract class SecurityTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    private const string WrongPassword = "Wrong-password-1";

    [Fact]
    public async Task LoginTakesAsLongForAnUnknownNameAsForAWrongPassword()
    {
        // Three accounts, at most four wrong passwords each: none of them reaches the lockout.
        var users = new[] { await Factory.CreateUserAsync(), await Factory.CreateUserAsync(), await Factory.CreateUserAsync() };
        using var client = Factory.CreateClient();
        await TimeLoginAsync(client, ParleyFactory.UniqueName()); // warm-up
        var existing = new List<double>();
        var unknown = new List<double>();

        for (var i = 0; i < 12; i++)
        {
            existing.Add(await TimeLoginAsync(client, users[i / 4].UserName));
            unknown.Add(await TimeLoginAsync(client, ParleyFactory.UniqueName()));
        }

        var (existingMedian, unknownMedian) = (Median(existing), Median(unknown));
        var figures = $"median existing name {existingMedian:F1} ms, unknown name {unknownMedian:F1} ms";
        TestContext.Current.TestOutputHelper?.WriteLine(figures);
        // The password hash dominates both; what remains is the failure count's database write on the account's path.
        Assert.True(Math.Abs(existingMedian - unknownMedian) <= 0.5 * Math.Max(existingMedian, unknownMedian), figures);
    }

    [Fact]
    public async Task SimultaneousCorrectLoginsAfterAMistypedPasswordAllSucceed()
    {
        const int Rounds = 20;
        var failedRounds = 0;
        var statuses = new List<HttpStatusCode>();
        for (var round = 0; round < Rounds; round++)
        {
            var user = await Factory.CreateUserAsync();
            using var client = Factory.CreateClient();
            using (var mistyped = await client.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = WrongPassword }, Cancel))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, mistyped.StatusCode);
            }

            // Two tabs (a double click) log in at once.
            var round_ = await LoginTogetherAsync(client, [(user.UserName, user.Password), (user.UserName, user.Password)]);
            statuses.AddRange(round_);
            failedRounds += round_.Any(s => s != HttpStatusCode.OK) ? 1 : 0;
        }

        Assert.True(failedRounds == 0, $"A correct login failed in {failedRounds}/{Rounds} rounds: {Summary(statuses)}");
    }

    [Fact]
    public async Task TheOwnerLogsInWhileWrongPasswordsArriveInParallel()
    {
        const int Rounds = 20;
        var failedRounds = 0;
        var statuses = new List<HttpStatusCode>();
        for (var round = 0; round < Rounds; round++)
        {
            var user = await Factory.CreateUserAsync();
            using var client = Factory.CreateClient();
            using (var mistyped = await client.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = WrongPassword }, Cancel))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, mistyped.StatusCode);
            }

            var results = await LoginTogetherAsync(client,
                [(user.UserName, WrongPassword), (user.UserName, user.Password), (user.UserName, WrongPassword), (user.UserName, WrongPassword)]);
            statuses.AddRange(results);
            failedRounds += results[1] != HttpStatusCode.OK || results.Any(s => (int)s >= 500) ? 1 : 0;
        }

        Assert.True(failedRounds == 0, $"The owner's login failed in {failedRounds}/{Rounds} rounds: {Summary(statuses)}");
    }

    [Fact]
    public async Task ALoginThatUpgradesThePasswordHashSucceeds()
    {
        // An account registered while hashing was cheaper: its first login with today's settings re-hashes the password.
        var database = await Fixture.CreateDatabaseAsync();
        var userName = ParleyFactory.UniqueName();
        await using (var before = await Fixture.StartFactoryAsync(
            configureServices: services => services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1_000), database: database))
        {
            await before.CreateUserAsync(userName);
        }

        await using var factory = await Fixture.StartFactoryAsync(database: database);
        using var client = factory.CreateClient();

        using var login = await client.PostAsJsonAsync("/api/auth/login", new { userName, password = ParleyFactory.Password }, Cancel);

        await login.ReadAsync<TokenPairBody>();
    }

    [Fact]
    public async Task ParallelWrongPasswordsHaveAtMostFiveChecked()
    {
        const int Rounds = 5, Burst = 20;
        var checkedPerRound = new List<int>();
        var ownerAfterwards = new List<HttpStatusCode>();
        for (var round = 0; round < Rounds; round++)
        {
            var user = await Factory.CreateUserAsync();
            using var client = Factory.CreateClient();
            var results = await LoginTogetherAsync(client, [.. Enumerable.Repeat((user.UserName, WrongPassword), Burst)]);
            Assert.DoesNotContain(results, s => (int)s >= 500);
            checkedPerRound.Add(results.Count(s => s == HttpStatusCode.Unauthorized)); // 401: the password was checked

            // The account is now locked, even for the right password.
            using var owner = await client.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = user.Password }, Cancel);
            ownerAfterwards.Add(owner.StatusCode);
        }

        Assert.True(checkedPerRound.All(n => n <= 5), $"Passwords checked per burst of {Burst}: {string.Join(", ", checkedPerRound)} (at most 5 allowed)");
        Assert.True(ownerAfterwards.All(s => s == HttpStatusCode.TooManyRequests), $"The right password after each burst: {string.Join(", ", ownerAfterwards.Select(s => (int)s))}");
    }

    [Fact]
    public async Task ALockoutLooksTheSameForAnUnknownNameAsForAnAccount()
    {
        var user = await Factory.CreateUserAsync();
        using var client = Factory.CreateClient();

        var account = await FailSixTimesAsync(client, user.UserName);
        var unknown = await FailSixTimesAsync(client, ParleyFactory.UniqueName());

        Assert.Equal(account.Statuses, unknown.Statuses);
        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), HttpStatusCode.TooManyRequests], account.Statuses);
        Assert.Equal(account.Problem, unknown.Problem);
        Assert.Equal(account.RetryAfter, unknown.RetryAfter);
        Assert.InRange(account.RetryAfter!.Value, 290, 300); // 5 minutes from the fifth failure
    }

    [Fact]
    public async Task RenamingAConversationWhileItIsDeletedReturns404()
    {
        var interceptor = new RenameWaitsForDelete();
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => AddInterceptor(services, interceptor));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("before");

        var rename = client.PatchAsJsonAsync($"/api/conversations/{conversation.Id}", new { title = "after" }, Cancel);
        await interceptor.Renamed.Task.WaitAsync(Cancel); // the rename's UPDATE ran; it has not read the row back yet
        using (var deleted = await client.DeleteAsync($"/api/conversations/{conversation.Id}", Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        interceptor.Deleted.SetResult();
        using var renamed = await rename;

        await renamed.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("/api/conversations", """{"title":"t"}""")]
    [InlineData("/api/chat", """{"message":"hello"}""")]
    public async Task AValidTokenOfAUserThatNoLongerExistsIsRefusedWith401(string path, string body)
    {
        var token = TokenForge.Mint(Factory.SigningKey!, Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        using var client = Factory.CreateClient(token);

        using var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), Cancel);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("/api/chat", """{"message":"a\u0000b"}""", "message")]
    [InlineData("/api/conversations", """{"title":"a\u0000b"}""", "title")]
    [InlineData("/api/auth/login", """{"userName":"a\u0000b","password":"x"}""", "userName")]
    [InlineData("/api/auth/register", """{"userName":"abc","password":"Correct-horse-7","email":"a\u0000@example.com"}""", "email")]
    public async Task TextWithANulCharacterIsRefusedAsABadRequest(string path, string body, string field)
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task AMalformedBodyAnswerCarriesTheSecurityHeaders()
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostAsync("/api/conversations", new StringContent("{\"title\":", Encoding.UTF8, "application/json"), Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task A500AnswerCarriesTheSecurityHeaders()
    {
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => AddInterceptor(services, new ConversationReadsFail()));
        var client = await factory.CreateUserClientAsync();

        using var response = await client.GetAsync("/api/conversations", Cancel);

        await response.AssertProblemAsync(HttpStatusCode.InternalServerError);
        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task TokenResponsesAreNeverCached()
    {
        var user = await Factory.CreateUserAsync();
        using var client = Factory.CreateClient();

        using var login = await client.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = user.Password }, Cancel);
        var pair = await login.ReadAsync<TokenPairBody>();
        using var refresh = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = pair.RefreshToken }, Cancel);
        await refresh.ReadAsync<TokenPairBody>();

        foreach (var response in new[] { login, refresh })
        {
            Assert.True(response.Headers.CacheControl?.NoStore, $"Cache-Control: {response.Headers.CacheControl}");
            Assert.Contains("no-cache", response.Headers.Pragma.Select(p => p.Name));
        }
    }

    [Fact]
    public async Task RateLimitRejectionsAreProblemsWithAType()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?>
        {
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:AuthPerMinute"] = "1",
        });
        using var client = factory.CreateClient();
        using var first = await client.PostAsJsonAsync("/api/auth/login", new { userName = ParleyFactory.UniqueName(), password = WrongPassword }, Cancel);

        using var limited = await client.PostAsJsonAsync("/api/auth/login", new { userName = ParleyFactory.UniqueName(), password = WrongPassword }, Cancel);

        var problem = await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("https://www.rfc-editor.org/rfc/rfc6585#section-4", problem.Type);
        Assert.NotNull(limited.Headers.RetryAfter);
    }

    [Fact]
    public async Task TheOpenApiDocumentNamesNoServerFromTheHostHeader()
    {
        using var client = Factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        request.Headers.Host = "attacker.example";

        using var response = await client.SendAsync(request, Cancel);

        var document = await response.Content.ReadAsStringAsync(Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("attacker.example", document, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RegisterRequest", "email", "userName,password")]
    [InlineData("CreateConversationRequest", "title", "")]
    [InlineData("CreateConversationRequest", "model", "")]
    [InlineData("UpdateConversationRequest", "systemPrompt", "")]
    [InlineData("SendMessageRequest", "clientMessageId", "content")]
    [InlineData("ChatRequest", "conversationId", "message")]
    public async Task TheOpenApiDocumentMarksOptionalFieldsAsOptional(string schema, string optional, string required)
    {
        using var client = Factory.CreateClient();

        using var document = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json", Cancel));

        var definition = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty(schema);
        Assert.True(definition.GetProperty("properties").TryGetProperty(optional, out _), $"{schema} has no '{optional}'");
        var listed = definition.TryGetProperty("required", out var names) ? names.EnumerateArray().Select(n => n.GetString()!).ToList() : [];
        Assert.Equal(required.Split(',', StringSplitOptions.RemoveEmptyEntries).Order(), listed.Order());
    }

    [Fact]
    public async Task TheOpenApiDocumentAndSwaggerUiCanBeTurnedOff()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?> { ["OpenApi:Enabled"] = "false" });
        using var client = factory.CreateClient();

        using var document = await client.GetAsync("/openapi/v1.json", Cancel);
        using var swagger = await client.GetAsync("/swagger/index.html", Cancel);

        Assert.Equal(HttpStatusCode.NotFound, document.StatusCode);
        Assert.DoesNotContain("swagger", await swagger.Content.ReadAsStringAsync(Cancel), StringComparison.OrdinalIgnoreCase);
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.True(response.Headers.TryGetValues("Content-Security-Policy", out var csp), "Content-Security-Policy is missing");
        Assert.Contains("frame-ancestors 'none'", csp.Single(), StringComparison.Ordinal);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
    }

    private async Task<(List<HttpStatusCode> Statuses, string Problem, int? RetryAfter)> FailSixTimesAsync(HttpClient client, string userName)
    {
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 6; i++)
        {
            last?.Dispose();
            last = await client.PostAsJsonAsync("/api/auth/login", new { userName, password = WrongPassword }, Cancel);
            statuses.Add(last.StatusCode);
        }

        using (last)
        {
            var problem = await last!.AssertProblemAsync(last!.StatusCode);
            return (statuses, $"{problem.Type} {problem.Title} {problem.Detail}", (int?)last.Headers.RetryAfter?.Delta?.TotalSeconds);
        }
    }

    /// <summary>Sends the logins at the same moment (each waits for a shared gate) and returns their statuses in order.</summary>
    private static async Task<HttpStatusCode[]> LoginTogetherAsync(HttpClient client, (string UserName, string Password)[] logins)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var requests = logins.Select(async login =>
        {
            if (Interlocked.Increment(ref ready) == logins.Length)
            {
                all.SetResult();
            }

            await gate.Task;
            using var response = await client.PostAsJsonAsync("/api/auth/login", new { userName = login.UserName, password = login.Password }, Cancel);
            return response.StatusCode;
        }).ToArray();
        await all.Task;
        gate.SetResult();
        return await Task.WhenAll(requests);
    }

    private static async Task<double> TimeLoginAsync(HttpClient client, string userName)
    {
        var watch = Stopwatch.StartNew();
        using var response = await client.PostAsJsonAsync("/api/auth/login", new { userName, password = WrongPassword }, Cancel);
        var elapsed = watch.Elapsed.TotalMilliseconds;
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        return elapsed;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return (sorted[(sorted.Count - 1) / 2] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Summary(IEnumerable<HttpStatusCode> statuses) =>
        string.Join(", ", statuses.GroupBy(s => (int)s).OrderBy(g => g.Key).Select(g => $"{g.Count()} × {g.Key}"));

    private void AddInterceptor(IServiceCollection services, IInterceptor interceptor)
    {
        Action<DbContextOptionsBuilder> add = options => options.AddInterceptors(interceptor);
        if (Fixture.Provider == DatabaseProvider.Sqlite)
        {
            services.ConfigureDbContext<SqliteParleyDbContext>(add);
        }
        else
        {
            services.ConfigureDbContext<PostgresParleyDbContext>(add);
        }
    }

    /// <summary>Holds the rename's title UPDATE, once it has run, until the test has deleted the conversation.</summary>
    private sealed class RenameWaitsForDelete : DbCommandInterceptor
    {
        public TaskCompletionSource Renamed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Deleted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask<int> NonQueryExecutedAsync(
            DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.Contains("UPDATE \"Conversations\"", StringComparison.Ordinal)
                && command.CommandText.Contains("\"Title\"", StringComparison.Ordinal))
            {
                Renamed.TrySetResult();
                await Deleted.Task.WaitAsync(cancellationToken);
            }

            return result;
        }
    }

    /// <summary>Throws from every EF Core command that reads conversations: an unhandled error, a 500.</summary>
    private sealed class ConversationReadsFail : DbCommandInterceptor
    {
        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) =>
            command.CommandText.Contains("FROM \"Conversations\"", StringComparison.Ordinal)
                ? throw new InvalidOperationException("The database failed (test fault).")
                : ValueTask.FromResult(result);
    }
}

public sealed class SecurityOnSqlite(SqliteFixture fixture) : SecurityTests<SqliteFixture>(fixture);

public sealed class SecurityOnPostgreSql(PostgreSqlFixture fixture) : SecurityTests<PostgreSqlFixture>(fixture);
