using System.Net;
using System.Net.Http.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>The token ledger's invariant: for every user the sum of the ledger equals the balance, under parallel load.</summary>
public abstract class LedgerTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task TheLedgerSumsToTheBalanceAfter100ParallelSendsRefundsAndTopUps()
    {
        // PerToken: every turn reserves the prompt estimate plus the model's maximum output and refunds what it did not use,
        // so each send is a charge and a refund, both written by the engine's group commit.
        await using var host = await Fixture.StartFactoryAsync(new Dictionary<string, string?>
        {
            ["Quota:Mode"] = "PerToken",
            ["Quota:InitialBalance"] = "1000000",
        });
        var admin = await AdminTests<TFixture>.CreateAdminAsync(host);
        var users = new List<(TestUser User, Guid[] Conversations)>();
        for (var i = 0; i < 4; i++)
        {
            var user = await host.CreateUserAsync();
            var conversations = new Guid[5];
            for (var c = 0; c < conversations.Length; c++)
            {
                conversations[c] = (await user.Client.CreateConversationAsync()).Id;
            }

            users.Add((user, conversations));
        }

        var sends = Enumerable.Range(0, 100).Select(async i =>
        {
            var (user, conversations) = users[i % users.Count];
            using var response = await user.Client.PostMessageAsync(conversations[i / users.Count % conversations.Length], $"message {i}");
            return response.StatusCode;
        });
        var adjustments = Enumerable.Range(0, 40).Select(async i =>
        {
            var (user, _) = users[i % users.Count];
            var amount = i % 4 == 3 ? -50 : 70;
            using var response = await admin.Client.PostAsJsonAsync($"/api/admin/users/{user.Id}/balance", new { amount, reason = $"load {i}" }, Cancel);
            return response.StatusCode;
        });
        var results = await Task.WhenAll(sends.Concat(adjustments));

        Assert.All(results, status => Assert.Equal(HttpStatusCode.OK, status));
        var database = host.Database;
        Assert.Equal(0L, Convert.ToInt64(await database.ScalarAsync(
            "SELECT COUNT(*) FROM \"AspNetUsers\" u WHERE u.\"TokenBalance\" <> " +
            "COALESCE((SELECT SUM(t.\"Amount\") FROM \"TokenTransactions\" t WHERE t.\"UserId\" = u.\"Id\"), 0)"), null));
        var userMessages = Convert.ToInt64(await database.ScalarAsync("SELECT COUNT(*) FROM \"Messages\" WHERE \"Role\" = 'user'"), null);
        Assert.Equal(userMessages, Convert.ToInt64(await database.ScalarAsync("SELECT COUNT(*) FROM \"TokenTransactions\" WHERE \"Kind\" = 'message'"), null));
        Assert.Equal(userMessages, Convert.ToInt64(await database.ScalarAsync("SELECT COUNT(*) FROM \"TokenTransactions\" WHERE \"Kind\" = 'refund'"), null));
        Assert.Equal(30L, Convert.ToInt64(await database.ScalarAsync("SELECT COUNT(*) FROM \"TokenTransactions\" WHERE \"Kind\" = 'topup'"), null));
        Assert.Equal(10L, Convert.ToInt64(await database.ScalarAsync("SELECT COUNT(*) FROM \"TokenTransactions\" WHERE \"Kind\" = 'correction'"), null));
        Assert.Equal(100, userMessages);
        foreach (var (user, _) in users)
        {
            // Each row's balanceAfter chains from the one before it.
            var rows = new List<TransactionBody>();
            string? cursor = null;
            do
            {
                using var response = await user.Client.GetAsync("/api/users/me/transactions?limit=100" + (cursor is null ? "" : $"&cursor={cursor}"), Cancel);
                var page = await response.ReadAsync<PageBody<TransactionBody>>();
                rows.AddRange(page.Items);
                cursor = page.NextCursor;
            }
            while (cursor is not null);

            Assert.Equal(await user.Client.GetBalanceAsync(), rows.Sum(r => r.Amount));
        }
    }
}

public sealed class LedgerOnSqlite(SqliteFixture fixture) : LedgerTests<SqliteFixture>(fixture);

public sealed class LedgerOnPostgreSql(PostgreSqlFixture fixture) : LedgerTests<PostgreSqlFixture>(fixture);
