using System.Net;
using System.Net.Http.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>The user's own account: registering logs in, the ledger, password change, sessions, account deletion.</summary>
public abstract class SelfServiceTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task RegisteringLogsTheUserIn()
    {
        using var anonymous = Factory.CreateClient();
        var userName = ParleyFactory.UniqueName();

        using var response = await anonymous.PostAsJsonAsync("/api/auth/register", new { userName, password = ParleyFactory.Password }, Cancel);
        var registered = await response.ReadAsync<RegisteredBody>();

        Assert.Equal("user", registered.Role);
        using var client = Factory.CreateClient(registered.Tokens.AccessToken);
        Assert.Equal(4_000, await client.GetBalanceAsync());
        using var refreshed = await anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = registered.Tokens.RefreshToken }, Cancel);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
    }

    [Fact]
    public async Task TheLedgerListsEveryChangeNewestFirstWithCursors()
    {
        var user = await Factory.CreateUserAsync();
        var conversation = await user.Client.CreateConversationAsync();
        var turns = new List<TurnBody>();
        for (var i = 0; i < 3; i++)
        {
            turns.Add(await user.Client.SendAsync(conversation.Id, $"message {i}"));
        }

        var rows = new List<TransactionBody>();
        string? cursor = null;
        do
        {
            using var response = await user.Client.GetAsync("/api/users/me/transactions?limit=2" + (cursor is null ? "" : $"&cursor={cursor}"), Cancel);
            var page = await response.ReadAsync<PageBody<TransactionBody>>();
            rows.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(["message", "message", "message", "initial"], rows.Select(r => r.Kind));
        Assert.Equal([3_700L, 3_800, 3_900, 4_000], rows.Select(r => r.BalanceAfter));
        Assert.Equal(turns.Select(t => (Guid?)t.UserMessage.Id).Reverse(), rows.Take(3).Select(r => r.MessageId));
        using var bad = await user.Client.GetAsync("/api/users/me/transactions?cursor=nope", Cancel);
        await bad.AssertProblemAsync(HttpStatusCode.BadRequest, "cursor");
    }

    [Fact]
    public async Task ChangingThePasswordRevokesTheOtherSessionsOnly()
    {
        var user = await Factory.CreateUserAsync();
        var other = await Factory.LoginAsync(user.UserName);
        using var otherClient = Factory.CreateClient(other.AccessToken);
        const string newPassword = "Battery-staple-8";

        using (var wrong = await user.Client.PostAsJsonAsync("/api/users/me/password", new { currentPassword = "Wrong-pass-1", newPassword }, Cancel))
        {
            await wrong.AssertProblemAsync(HttpStatusCode.BadRequest, "currentPassword");
        }

        using (var weak = await user.Client.PostAsJsonAsync("/api/users/me/password", new { currentPassword = user.Password, newPassword = "weak" }, Cancel))
        {
            await weak.AssertProblemAsync(HttpStatusCode.BadRequest, "newPassword");
        }

        using (var changed = await user.Client.PostAsJsonAsync("/api/users/me/password", new { currentPassword = user.Password, newPassword }, Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
        }

        using (var otherMe = await otherClient.GetAsync("/api/users/me", Cancel))
        {
            await otherMe.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        using var anonymous = Factory.CreateClient();
        using (var otherRefresh = await anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = other.RefreshToken }, Cancel))
        {
            await otherRefresh.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        using (var me = await user.Client.GetAsync("/api/users/me", Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        }

        using (var oldLogin = await anonymous.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = user.Password }, Cancel))
        {
            await oldLogin.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        await Factory.LoginAsync(user.UserName, newPassword);
    }

    [Fact]
    public async Task SessionsAreListedWithTheCurrentOneAndCanBeLoggedOut()
    {
        var user = await Factory.CreateUserAsync();
        var other = await Factory.LoginAsync(user.UserName);
        using var otherClient = Factory.CreateClient(other.AccessToken);

        using (var response = await user.Client.GetAsync("/api/users/me/sessions", Cancel))
        {
            var sessions = await response.ReadAsync<List<SessionBody>>();
            Assert.Equal(3, sessions.Count); // registering's, CreateUserAsync's login, and the other login
            Assert.Equal(sessions.OrderByDescending(s => s.LastUsedAt).Select(s => s.Id), sessions.Select(s => s.Id));
            Assert.Single(sessions, s => s.Current);
        }

        List<SessionBody> seenByOther;
        using (var response = await otherClient.GetAsync("/api/users/me/sessions", Cancel))
        {
            seenByOther = await response.ReadAsync<List<SessionBody>>();
        }

        var otherSession = Assert.Single(seenByOther, s => s.Current);
        using (var deleted = await user.Client.DeleteAsync($"/api/users/me/sessions/{otherSession.Id}", Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using (var refused = await otherClient.GetAsync("/api/users/me", Cancel))
        {
            await refused.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        using (var response = await user.Client.GetAsync("/api/users/me/sessions", Cancel))
        {
            var left = await response.ReadAsync<List<SessionBody>>();
            Assert.Equal(2, left.Count);
            Assert.DoesNotContain(left, s => s.Id == otherSession.Id);
        }

        var stranger = await Factory.CreateUserAsync();
        using var notMine = await stranger.Client.DeleteAsync($"/api/users/me/sessions/{otherSession.Id}", Cancel);
        await notMine.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task DeletingTheAccountRemovesAllItsDataAndItsTokensStopWorking()
    {
        var user = await Factory.CreateUserAsync();
        var other = await Factory.LoginAsync(user.UserName);
        using var otherClient = Factory.CreateClient(other.AccessToken);
        var conversation = await user.Client.CreateConversationAsync();
        await user.Client.SendAsync(conversation.Id, "forget me");

        using (var wrong = await user.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/users/me") { Content = JsonContent.Create(new { password = "Wrong-pass-1" }) }, Cancel))
        {
            await wrong.AssertProblemAsync(HttpStatusCode.BadRequest, "password");
        }

        using (var deleted = await user.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/users/me") { Content = JsonContent.Create(new { password = user.Password }) }, Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        foreach (var client in new[] { user.Client, otherClient })
        {
            using var me = await client.GetAsync("/api/users/me", Cancel);
            await me.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        using var anonymous = Factory.CreateClient();
        using (var login = await anonymous.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = user.Password }, Cancel))
        {
            await login.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        var id = Factory.Database.Id(user.Id);
        foreach (var table in new[] { "Conversations", "AuthSessions", "RefreshTokens", "TokenTransactions" })
        {
            Assert.Equal(0L, Convert.ToInt64(await Factory.Database.ScalarAsync($"SELECT COUNT(*) FROM \"{table}\" WHERE \"UserId\" = @p0", id), null));
        }

        Assert.Equal(0L, Convert.ToInt64(await Factory.Database.ScalarAsync(
            "SELECT COUNT(*) FROM \"Messages\" WHERE \"ConversationId\" = @p0", Factory.Database.Id(conversation.Id)), null));
    }
}

public sealed class SelfServiceOnSqlite(SqliteFixture fixture) : SelfServiceTests<SqliteFixture>(fixture);

public sealed class SelfServiceOnPostgreSql(PostgreSqlFixture fixture) : SelfServiceTests<PostgreSqlFixture>(fixture);
