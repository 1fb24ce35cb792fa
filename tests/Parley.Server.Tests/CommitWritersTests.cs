using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Parley.Engine;
using Parley.Engine.Storage;
using Parley.Server.Tests.Infrastructure;
using Parley.Testing;

namespace Parley.Server.Tests;

/// <summary>
/// Several group-commit writers on PostgreSQL (<c>Engine:CommitWriters</c>), each write routed by its user: under
/// concurrent load every turn commits, in order, charged exactly once; and two users' writes commit at the same time.
/// </summary>
public sealed class CommitWritersOnPostgreSql(PostgreSqlFixture fixture) : ParleyTests<PostgreSqlFixture>(fixture)
{
    private const long Cost = 100;
    private const long InitialBalance = 1_000_000;

    [Fact]
    public async Task ManyUsersSendingAtOnceThroughFourWritersCommitEveryTurnInOrderAndChargeEachOnce()
    {
        const int Users = 8, ConversationsPerUser = 4, TurnsPerConversation = 6;
        await using var host = await Fixture.StartFactoryAsync(new Dictionary<string, string?>
        {
            ["Engine:CommitWriters"] = "4",
            ["Quota:InitialBalance"] = InitialBalance.ToString(CultureInfo.InvariantCulture),
            ["Quota:CostPerMessage"] = Cost.ToString(CultureInfo.InvariantCulture),
        });
        var store = host.Services.GetRequiredService<SqlTurnStore>();
        Assert.Equal(4, store.CommitWriters);
        var users = new List<(TestUser User, Guid[] Conversations)>();
        for (var u = 0; u < Users; u++)
        {
            var user = await host.CreateUserAsync();
            var conversations = new Guid[ConversationsPerUser];
            for (var c = 0; c < conversations.Length; c++)
            {
                conversations[c] = (await user.Client.CreateConversationAsync($"c{c}")).Id;
            }

            users.Add((user, conversations));
        }

        // The users fall on more than one writer, so the writers really commit side by side.
        Assert.True(users.Select(u => store.CommitWriterOf(u.User.Id)).Distinct().Count() > 1, "all users on one writer");
        var operationsBefore = store.CommitOperations;

        // Every conversation sends its turns one after another; all 32 conversations at once. Half of them stream: their
        // turns are two commits (the user message, then the reply), which the user's writer must keep in order; a JSON
        // turn of the echo bot is one commit (both messages after the reply is generated).
        await Task.WhenAll(users.SelectMany(u => u.Conversations.Select(async (conversation, c) =>
        {
            for (var t = 0; t < TurnsPerConversation; t++)
            {
                var content = $"turn {t} of {conversation}";
                if (c % 2 == 0)
                {
                    Api.AssertEchoTurn(await u.User.Client.SendAsync(conversation, content), content);
                    continue;
                }

                using var response = await u.User.Client.PostMessageStreamingAsync(conversation, content, Cancel);
                var events = await response.ReadAllEventsAsync();
                Assert.Equal("user", events[0].Type);
                Assert.Equal("assistant", events[^1].Type);
            }
        })));

        const int Turns = Users * ConversationsPerUser * TurnsPerConversation;
        Assert.Equal(Turns / 2 + Turns / 2 * 2, store.CommitOperations - operationsBefore);
        foreach (var (user, conversations) in users)
        {
            foreach (var conversation in conversations)
            {
                var messages = await user.Client.GetAllMessagesAsync(conversation);
                Assert.Equal(Enumerable.Range(1, 2 * TurnsPerConversation).Select(s => (long)s), messages.Select(m => m.Sequence));
                Assert.Equal(
                    Enumerable.Range(0, TurnsPerConversation).SelectMany(t => new[] { ("user", $"turn {t} of {conversation}"), ("assistant", $"turn {t} of {conversation}") }),
                    messages.Select(m => (m.Role, m.Content)));
                Assert.All(messages, m => Assert.Equal("completed", m.Status));
            }

            var charged = ConversationsPerUser * TurnsPerConversation * Cost;
            Assert.Equal(InitialBalance - charged, await user.Client.GetBalanceAsync());
            var ledger = await LedgerAsync(host.Database, user.Id);
            Assert.Equal(InitialBalance - charged, ledger.Sum(entry => entry.Amount));
            var charges = ledger.Where(entry => entry.Kind == "message").ToList();
            Assert.Equal(ConversationsPerUser * TurnsPerConversation, charges.Count);
            Assert.All(charges, entry => Assert.Equal(-Cost, entry.Amount));
            // Each charge recorded the balance it left: one of each, from the first charge down to the last.
            Assert.Equal(
                Enumerable.Range(1, charges.Count).Select(k => InitialBalance - k * Cost),
                charges.Select(entry => entry.BalanceAfter).Order().Reverse());
        }
    }

    [Fact]
    public async Task TwoUsersOnDifferentWritersCommitWhileTheOtherUsersBatchIsBlocked()
    {
        var host = Factory;
        var own = host.Services.GetRequiredService<SqlTurnStore>();
        await using var store = new SqlTurnStore(
            host.Services.GetRequiredService<System.Data.Common.DbDataSource>(), SqlDialect.PostgreSql, 256, NullLogger<SqlTurnStore>.Instance, commitWriters: 2);
        var blocked = await host.CreateUserAsync();
        var free = await host.CreateUserAsync();
        while (store.CommitWriterOf(free.Id) == store.CommitWriterOf(blocked.Id))
        {
            free = await host.CreateUserAsync(); // half of all users fall on the other writer
        }

        var blockedConversation = (await blocked.Client.CreateConversationAsync()).Id;
        var freeConversation = (await free.Client.CreateConversationAsync()).Id;
        Assert.Equal(4, own.CommitWriters); // the automatic default on PostgreSQL

        // Another transaction holds the blocked user's conversation row, so that user's writer's batch waits inside its
        // transaction until the row is released.
        await using var holder = (NpgsqlConnection)await host.Database.OpenAsync(Cancel);
        await using var hold = await holder.BeginTransactionAsync(Cancel);
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM \"Conversations\" WHERE \"Id\" = @id FOR UPDATE", holder, hold))
        {
            lockRow.Parameters.AddWithValue("id", blockedConversation);
            await lockRow.ExecuteScalarAsync(Cancel);
        }

        var first = store.CheckpointAsync(new TurnCheckpoint(blocked.Id, blockedConversation, 0, "blocked"), Cancel);
        await WaitForLockWaitAsync(host.Database, holder.ProcessID);

        // Within the blocked batch's command timeout (30 s): had both users shared a writer, this write would wait for
        // the blocked batch and time out here.
        var second = await store.CheckpointAsync(new TurnCheckpoint(free.Id, freeConversation, 0, "free"), Cancel).WaitAsync(TimeSpan.FromSeconds(20), Cancel);

        Assert.True(second);
        Assert.Equal("free", await host.Database.ScalarAsync("SELECT \"PartialReply\" FROM \"Conversations\" WHERE \"Id\" = @p0", freeConversation));
        Assert.False(first.IsCompleted, "the blocked user's write finished while its row was locked");
        await hold.RollbackAsync(Cancel);
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(60), Cancel));
        Assert.Equal("blocked", await host.Database.ScalarAsync("SELECT \"PartialReply\" FROM \"Conversations\" WHERE \"Id\" = @p0", blockedConversation));
    }

    /// <summary>Waits until some backend waits for a lock that <paramref name="holderPid"/> holds (the blocked writer's UPDATE).</summary>
    private static async Task WaitForLockWaitAsync(TestDatabase database, int holderPid)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (Convert.ToInt64(await database.ScalarAsync(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE @p0 = ANY(pg_blocking_pids(pid))", holderPid), CultureInfo.InvariantCulture) == 0)
        {
            await Task.Delay(20, timeout.Token); // polls the database's own view: the condition, not the time, ends the wait
        }
    }

    private static async Task<List<(string Kind, long Amount, long BalanceAfter)>> LedgerAsync(TestDatabase database, Guid userId)
    {
        await using var connection = await database.OpenAsync(Cancel);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT \"Kind\", \"Amount\", \"BalanceAfter\" FROM \"TokenTransactions\" WHERE \"UserId\" = @p0";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@p0";
        parameter.Value = userId;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        var entries = new List<(string, long, long)>();
        while (await reader.ReadAsync(Cancel))
        {
            entries.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return entries;
    }
}

/// <summary><c>Engine:CommitWriters</c> on SQLite: one writing transaction at a time, so more than one writer stops the server.</summary>
public sealed class CommitWritersOnSqlite(SqliteFixture fixture) : ParleyTests<SqliteFixture>(fixture)
{
    [Fact]
    public async Task MoreThanOneCommitWriterOnSqliteStopsTheServerAtStartSayingWhy()
    {
        var database = await Fixture.CreateDatabaseAsync();
        await using var factory = new ParleyFactory(database, new Dictionary<string, string?> { ["Engine:CommitWriters"] = "2" });

        var error = Assert.Throws<OptionsValidationException>(() => factory.Server);

        Assert.Contains("Engine:CommitWriters is out of range: SQLite allows one writing transaction at a time", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OneCommitWriterRunsOnSqliteByDefault() =>
        Assert.Equal(1, Factory.Services.GetRequiredService<SqlTurnStore>().CommitWriters);
}
