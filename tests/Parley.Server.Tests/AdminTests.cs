using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Accounts;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>The admin API: authorization on every route, the user list, disable, role, balance adjustments, stats.</summary>
public abstract class AdminTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    private static readonly (HttpMethod Method, string Path, object? Body)[] AdminRoutes =
    [
        (HttpMethod.Get, "/api/admin/users", null),
        (HttpMethod.Patch, $"/api/admin/users/{Guid.NewGuid()}", new { disabled = true }),
        (HttpMethod.Post, $"/api/admin/users/{Guid.NewGuid()}/balance", new { amount = 100, reason = "x" }),
        (HttpMethod.Get, "/api/admin/stats", null),
    ];

    [Fact]
    public async Task EveryAdminRouteIs401AnonymousAnd403ForAUser()
    {
        using var anonymous = Factory.CreateClient();
        var user = await Factory.CreateUserAsync();
        foreach (var (method, path, body) in AdminRoutes)
        {
            using var anonymousResponse = await anonymous.SendAsync(Request(method, path, body), Cancel);
            await anonymousResponse.AssertProblemAsync(HttpStatusCode.Unauthorized);
            using var userResponse = await user.Client.SendAsync(Request(method, path, body), Cancel);
            await userResponse.AssertProblemAsync(HttpStatusCode.Forbidden);
        }
    }

    [Fact]
    public async Task AdminUsersSettingMakesTheNamedUserAnAdminAndTheAdminCanGrantAndRevokeTheRole()
    {
        var name = ParleyFactory.UniqueName();
        await using var host = await Fixture.StartFactoryAsync(new Dictionary<string, string?> { ["Admin:Users:0"] = name.ToUpperInvariant() });
        var admin = await host.CreateUserAsync(name);
        var other = await host.CreateUserAsync();
        using (var me = await admin.Client.GetAsync("/api/users/me", Cancel))
        {
            Assert.Equal("admin", (await me.ReadAsync<RegisteredRole>()).Role);
        }

        using (var forbidden = await other.Client.GetAsync("/api/admin/stats", Cancel))
        {
            await forbidden.AssertProblemAsync(HttpStatusCode.Forbidden);
        }

        using (var granted = await admin.Client.PatchAsJsonAsync($"/api/admin/users/{other.Id}", new { role = "admin" }, Cancel))
        {
            Assert.Equal("admin", (await granted.ReadAsync<AdminUserBody>()).Role);
        }

        using (var allowed = await other.Client.GetAsync("/api/admin/stats", Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        using (var revoked = await admin.Client.PatchAsJsonAsync($"/api/admin/users/{other.Id}", new { role = "user" }, Cancel))
        {
            Assert.Equal("user", (await revoked.ReadAsync<AdminUserBody>()).Role);
        }

        // The role is read from the database per request: the same access token is refused at once.
        using var again = await other.Client.GetAsync("/api/admin/stats", Cancel);
        await again.AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AnUnknownRoleIsA400OnRole()
    {
        var admin = await CreateAdminAsync(Factory);
        var user = await Factory.CreateUserAsync();

        using var response = await admin.Client.PatchAsJsonAsync($"/api/admin/users/{user.Id}", new { role = "root" }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "role");
    }

    [Fact]
    public async Task TheUserListSearchesByNameOrEmailAndPagesByCursor()
    {
        var admin = await CreateAdminAsync(Factory);
        var tag = Guid.NewGuid().ToString("N")[..8];
        var names = new[] { $"a{tag}1", $"a{tag}2", $"a{tag}3" };
        foreach (var name in names)
        {
            await Factory.CreateUserAsync(name);
        }

        var byEmail = await Factory.CreateUserAsync(email: $"found-{tag}@example.com");
        var seen = new List<AdminUserBody>();
        string? cursor = null;
        do
        {
            using var response = await admin.Client.GetAsync($"/api/admin/users?query=A{tag}&limit=2" + (cursor is null ? "" : $"&cursor={cursor}"), Cancel);
            var page = await response.ReadAsync<PageBody<AdminUserBody>>();
            seen.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(names, seen.Select(u => u.UserName));
        Assert.All(seen, u => Assert.Equal(4_000, u.TokenBalance));
        using var emailSearch = await admin.Client.GetAsync($"/api/admin/users?query=found-{tag}", Cancel);
        Assert.Equal(byEmail.Id, Assert.Single((await emailSearch.ReadAsync<PageBody<AdminUserBody>>()).Items).Id);
    }

    [Fact]
    public async Task AUserOutOfTokensCanSendAgainAfterATopUpAndACorrectionNeverGoesBelowZero()
    {
        await using var host = await Fixture.StartFactoryAsync(new Dictionary<string, string?> { ["Quota:InitialBalance"] = "100" });
        var admin = await CreateAdminAsync(host);
        var user = await host.CreateUserAsync();
        var conversation = await user.Client.CreateConversationAsync();
        await user.Client.SendAsync(conversation.Id, "first");
        using (var broke = await user.Client.PostMessageAsync(conversation.Id, "second"))
        {
            await broke.AssertProblemAsync(HttpStatusCode.PaymentRequired);
        }

        using (var tooMuch = await admin.Client.PostAsJsonAsync($"/api/admin/users/{user.Id}/balance", new { amount = -1, reason = "oops" }, Cancel))
        {
            await tooMuch.AssertProblemAsync(HttpStatusCode.BadRequest, "amount");
        }

        using (var topUp = await admin.Client.PostAsJsonAsync($"/api/admin/users/{user.Id}/balance", new { amount = 250, reason = "support ticket 7" }, Cancel))
        {
            Assert.Equal(250, (await topUp.ReadAsync<BalanceAdjustedBody>()).TokenBalance);
        }

        await user.Client.SendAsync(conversation.Id, "second");
        using (var correction = await admin.Client.PostAsJsonAsync($"/api/admin/users/{user.Id}/balance", new { amount = -150 }, Cancel))
        {
            Assert.Equal(0, (await correction.ReadAsync<BalanceAdjustedBody>()).TokenBalance);
        }

        using var ledger = await user.Client.GetAsync("/api/users/me/transactions", Cancel);
        var rows = (await ledger.ReadAsync<PageBody<TransactionBody>>()).Items;
        Assert.Equal(["correction", "message", "topup", "message", "initial"], rows.Select(r => r.Kind));
        Assert.Equal([-150L, -100, 250, -100, 100], rows.Select(r => r.Amount));
        Assert.Equal([0L, 150, 250, 0, 100], rows.Select(r => r.BalanceAfter));
        Assert.Equal("support ticket 7", rows[2].Reason);
        Assert.NotNull(rows[1].MessageId);
    }

    [Fact]
    public async Task ABalanceAdjustmentOfAnUnknownUserIs404AndOfZeroIs400()
    {
        var admin = await CreateAdminAsync(Factory);

        using var unknown = await admin.Client.PostAsJsonAsync($"/api/admin/users/{Guid.NewGuid()}/balance", new { amount = 5 }, Cancel);
        await unknown.AssertProblemAsync(HttpStatusCode.NotFound);
        using var zero = await admin.Client.PostAsJsonAsync($"/api/admin/users/{admin.Id}/balance", new { amount = 0 }, Cancel);
        await zero.AssertProblemAsync(HttpStatusCode.BadRequest, "amount");
    }

    [Fact]
    public async Task DisablingAUserRevokesItsSessionsAtOnceAndBlocksLogin()
    {
        var admin = await CreateAdminAsync(Factory);
        var user = await Factory.CreateUserAsync();

        using (var disabled = await admin.Client.PatchAsJsonAsync($"/api/admin/users/{user.Id}", new { disabled = true }, Cancel))
        {
            Assert.True((await disabled.ReadAsync<AdminUserBody>()).Disabled);
        }

        using (var me = await user.Client.GetAsync("/api/users/me", Cancel))
        {
            await me.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        using var anonymous = Factory.CreateClient();
        using (var refresh = await anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }, Cancel))
        {
            await refresh.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        using (var login = await anonymous.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = user.Password }, Cancel))
        {
            await login.AssertProblemAsync(HttpStatusCode.Forbidden);
        }

        using (var enabled = await admin.Client.PatchAsJsonAsync($"/api/admin/users/{user.Id}", new { disabled = false }, Cancel))
        {
            Assert.False((await enabled.ReadAsync<AdminUserBody>()).Disabled);
        }

        await Factory.LoginAsync(user.UserName);
    }

    [Fact]
    public async Task StatsCountUsersConversationsMessagesTurnsAndTokens()
    {
        await using var host = await Fixture.StartFactoryAsync();
        var admin = await CreateAdminAsync(host);
        var user = await host.CreateUserAsync();
        var conversation = await user.Client.CreateConversationAsync();
        await user.Client.SendAsync(conversation.Id, "one");
        await user.Client.SendAsync(conversation.Id, "two");

        using var response = await admin.Client.GetAsync("/api/admin/stats", Cancel);
        var stats = await response.ReadAsync<AdminStatsBody>();

        Assert.Equal(new AdminStatsBody(2, 1, 1, 4, 2, 200, null), stats);
    }

    /// <summary>Registers a user and makes it an admin in the database (as <c>Admin:Users</c> or another admin would).</summary>
    internal static async Task<TestUser> CreateAdminAsync(ParleyFactory host)
    {
        var admin = await host.CreateUserAsync();
        await host.Database.ExecuteAsync("UPDATE \"AspNetUsers\" SET \"Role\" = 'admin' WHERE \"Id\" = @p0", host.Database.Id(admin.Id));
        return admin;
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, object? body) =>
        new(method, path) { Content = body is null ? null : JsonContent.Create(body) };

    private sealed record RegisteredRole(string Role);
}

public sealed class AdminOnSqlite(SqliteFixture fixture) : AdminTests<SqliteFixture>(fixture);

public sealed class AdminOnPostgreSql(PostgreSqlFixture fixture) : AdminTests<PostgreSqlFixture>(fixture);

/// <summary>Two nodes over one PostgreSQL database: a top-up and a disable made on one take effect on the other.</summary>
public sealed class AdminAcrossNodesTests(PostgreSqlFixture fixture) : ParleyTests<PostgreSqlFixture>(fixture)
{
    [Fact]
    public async Task ATopUpAndADisableOnOneNodeTakeEffectOnTheOther()
    {
        var database = await Fixture.CreateDatabaseAsync();
        var key = new Dictionary<string, string?> { ["Jwt:SigningKey"] = TokenForge.RandomKey(), ["Quota:InitialBalance"] = "100" };
        await using var first = await Fixture.StartFactoryAsync(key, database: database);
        await using var second = await Fixture.StartFactoryAsync(
            new Dictionary<string, string?>(key) { ["Engine:NodeId"] = "second-node", ["Parley:DataDirectory"] = Directory.CreateTempSubdirectory("parley-node2-").FullName },
            database: database);
        var admin = await AdminTests<PostgreSqlFixture>.CreateAdminAsync(first);
        var user = await first.CreateUserAsync();
        using var onSecond = second.CreateClient(user.Tokens.AccessToken);
        var conversation = await onSecond.CreateConversationAsync();
        await onSecond.SendAsync(conversation.Id, "spend it");

        using (var topUp = await admin.Client.PostAsJsonAsync($"/api/admin/users/{user.Id}/balance", new { amount = 100 }, Cancel))
        {
            Assert.Equal(100, (await topUp.ReadAsync<BalanceAdjustedBody>()).TokenBalance);
        }

        Assert.Equal(0, (await onSecond.SendAsync(conversation.Id, "again")).TokenBalance);

        using (var disable = await admin.Client.PatchAsJsonAsync($"/api/admin/users/{user.Id}", new { disabled = true }, Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        }

        // The other node learns of revoked sessions at its next poll (Jwt:RevocationPollSeconds); run that poll now.
        await second.Services.GetRequiredService<RevokedSessions>().RefreshAsync(Cancel);
        using var refused = await onSecond.GetAsync("/api/users/me", Cancel);
        await refused.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }
}
