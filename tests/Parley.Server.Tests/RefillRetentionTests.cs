using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Parley.Server.Accounts;
using Parley.Server.Retention;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>The periodic jobs, driven by the host's <see cref="TimeProvider"/> moved forward by the tests: balance refills and retention.</summary>
public abstract class RefillRetentionTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task ARefillHappensExactlyOncePerIntervalHoweverManyRunsRace()
    {
        var time = new ShiftedTime();
        await using var host = await Fixture.StartFactoryAsync(
            new Dictionary<string, string?> { ["Quota:Refill:Amount"] = "500", ["Quota:Refill:Interval"] = "01:00:00", ["Quota:InitialBalance"] = "100" },
            services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time)));
        var users = new List<TestUser>();
        for (var i = 0; i < 3; i++)
        {
            users.Add(await host.CreateUserAsync());
        }

        var refill = host.Services.GetRequiredService<RefillService>();
        Assert.Equal(0, await refill.RunOnceAsync(Cancel)); // not due yet

        for (var interval = 1; interval <= 2; interval++)
        {
            time.Advance(TimeSpan.FromHours(1));
            // Eight runs race (and the host's own scheduled run, whose timer this clock drives): each user gets one refill.
            var runs = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => refill.RunOnceAsync(Cancel), Cancel)));
            Assert.InRange(runs.Sum(), 0, 3);
            foreach (var user in users)
            {
                Assert.Equal(100 + 500L * interval, await BalanceAsync(host, user.Id));
                Assert.Equal(interval, await CountAsync(host, "SELECT COUNT(*) FROM \"TokenTransactions\" WHERE \"UserId\" = @p0 AND \"Kind\" = 'refill'", user.Id));
            }
        }

        time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await refill.RunOnceAsync(Cancel));
    }

    [Fact]
    public async Task RetentionDeletesExactlyTheUnpinnedConversationsInactiveLongerThanMaxAge()
    {
        var time = new ShiftedTime();
        await using var host = await Fixture.StartFactoryAsync(
            new Dictionary<string, string?> { ["Retention:MaxAge"] = "30.00:00:00", ["Retention:BatchSize"] = "2", ["Jwt:AccessTokenMinutes"] = "1440",
                ["Retention:Interval"] = "30.00:00:00" }, // the scheduled run (real timer) does not come during the test
            services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time)));
        var admin = await AdminTests<TFixture>.CreateAdminAsync(host);
        var user = await host.CreateUserAsync();
        var old = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            var conversation = await user.Client.CreateConversationAsync();
            await user.Client.SendAsync(conversation.Id, $"old {i}");
            old.Add(conversation.Id);
        }

        // As old as the others, but pinned: kept.
        var pinned = await user.Client.CreateConversationAsync();
        await user.Client.SendAsync(pinned.Id, "keep me");
        using (var pin = await user.Client.PatchAsJsonAsync($"/api/conversations/{pinned.Id}", new { pinned = true }, Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, pin.StatusCode);
        }

        var revived = await user.Client.CreateConversationAsync();
        time.Advance(TimeSpan.FromDays(20));
        var recent = await user.Client.CreateConversationAsync();
        await user.Client.SendAsync(revived.Id, "still here"); // its last activity is now, 20 days on
        time.Advance(TimeSpan.FromDays(10) + TimeSpan.FromMinutes(1));

        var retention = host.Services.GetRequiredService<RetentionService>();
        Assert.Equal(5, await retention.RunOnceAsync(onlyIfDue: false, Cancel));

        var left = await user.Client.ListConversationsAsync(limit: 100);
        Assert.Equal(new[] { pinned.Id, revived.Id, recent.Id }.Order(), left.Items.Select(c => c.Id).Order());
        foreach (var id in old)
        {
            Assert.Equal(0, await CountAsync(host, "SELECT COUNT(*) FROM \"Messages\" WHERE \"ConversationId\" = @p0", id));
        }

        using var stats = await admin.Client.GetAsync("/api/admin/stats", Cancel);
        var run = (await stats.ReadAsync<AdminStatsBody>()).LastRetentionRun;
        Assert.Equal(5, run?.Deleted);
        Assert.InRange(run!.FinishedAt, time.GetUtcNow().AddMinutes(-5), time.GetUtcNow());
        Assert.Equal(0, await retention.RunOnceAsync(onlyIfDue: false, Cancel));
    }

    [Fact]
    public async Task RetentionRunsOnOneNodeAtATime()
    {
        var time = new ShiftedTime();
        await using var host = await Fixture.StartFactoryAsync(
            new Dictionary<string, string?> { ["Retention:MaxAge"] = "30.00:00:00" },
            services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time)));
        // Another node holds the lease for five more minutes: this node's run does nothing.
        await host.Database.ExecuteAsync(
            "INSERT INTO \"JobRuns\" (\"Name\", \"LeaseHolder\", \"LeaseExpiresAt\", \"LastRunCount\") VALUES ('retention', 'other-node', @p0, 0)",
            time.GetUtcNow().UtcDateTime.AddMinutes(5));
        var retention = host.Services.GetRequiredService<RetentionService>();
        Assert.Null(await retention.RunOnceAsync(onlyIfDue: false, Cancel));

        time.Advance(TimeSpan.FromMinutes(6)); // the other node's lease ran out (it died mid-run)
        Assert.Equal(0, await retention.RunOnceAsync(onlyIfDue: false, Cancel));
    }

    private static async Task<long> BalanceAsync(ParleyFactory host, Guid userId) =>
        Convert.ToInt64(await host.Database.ScalarAsync("SELECT \"TokenBalance\" FROM \"AspNetUsers\" WHERE \"Id\" = @p0", host.Database.Id(userId)), null);

    private static async Task<long> CountAsync(ParleyFactory host, string sql, Guid id) =>
        Convert.ToInt64(await host.Database.ScalarAsync(sql, host.Database.Id(id)), null);
}

public sealed class RefillRetentionOnSqlite(SqliteFixture fixture) : RefillRetentionTests<SqliteFixture>(fixture);

public sealed class RefillRetentionOnPostgreSql(PostgreSqlFixture fixture) : RefillRetentionTests<PostgreSqlFixture>(fixture);
