using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Engine;
using Parley.Engine.Storage;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// The group-commit writer's balance rules under concurrency, per provider: the turns of one batch never spend more than
/// the balance, and two writers (two nodes' stores on one database) charging the same user never overdraw it.
/// </summary>
public abstract class GroupCommitTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    private const int Cost = 100;

    [Fact]
    public async Task TwoWritersChargingOneUserAtOnceSpendExactlyTheBalanceAndNoMore()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?>
        {
            ["Quota:InitialBalance"] = (5 * Cost).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Quota:CostPerMessage"] = Cost.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var user = await factory.CreateUserAsync();
        var conversations = new List<Guid>();
        for (var i = 0; i < 16; i++)
        {
            conversations.Add((await user.Client.CreateConversationAsync($"c{i}")).Id);
        }

        // The server's own store and a second one over the same database: two writers, as two nodes have.
        var own = factory.Services.GetRequiredService<SqlTurnStore>();
        await using var other = new SqlTurnStore(
            factory.Services.GetRequiredService<DbDataSource>(), factory.Services.GetRequiredService<SqlDialect>(), 256, NullLogger<SqlTurnStore>.Instance);
        var outcomes = await Task.WhenAll(conversations.Select((conversation, i) => CommitFirstTurnAsync(i % 2 == 0 ? own : other, user.Id, conversation)));

        Assert.Equal(5, outcomes.Count(o => o == AcceptStatus.Accepted));
        Assert.All(outcomes.Where(o => o != AcceptStatus.Accepted), o => Assert.Equal(AcceptStatus.InsufficientBalance, o));
        Assert.Equal(0, await user.Client.GetBalanceAsync());
        var stored = 0L;
        foreach (var conversation in conversations)
        {
            stored += (await user.Client.GetConversationAsync(conversation)).MessageCount;
        }

        Assert.Equal(10, stored); // the 5 accepted turns, user message and reply each
    }

    /// <summary>Commits a whole first turn, retrying while the writer asks for a retry (as the protocol does on a version conflict).</summary>
    private static async Task<AcceptStatus> CommitFirstTurnAsync(SqlTurnStore store, Guid userId, Guid conversationId)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var now = DateTime.UtcNow;
            var user = new StoredMessage(Guid.CreateVersion7(), conversationId, 1, MessageRoles.User, "hello", MessageStatuses.Completed, null, now, 1, Charge: Cost);
            var reply = new StoredMessage(Guid.CreateVersion7(), conversationId, 2, MessageRoles.Assistant, "hello", MessageStatuses.Completed, null, now, 1, "echo", "stop");
            var outcome = await store.CommitTurnAsync(new AcceptTurn(userId, 0, user, Cost, "test-node", null), reply, Cancel);
            if (outcome.Status != AcceptStatus.VersionConflict)
            {
                return outcome.Status;
            }
        }

        return AcceptStatus.VersionConflict;
    }
}

public sealed class GroupCommitOnSqlite(SqliteFixture fixture) : GroupCommitTests<SqliteFixture>(fixture);

public sealed class GroupCommitOnPostgreSql(PostgreSqlFixture fixture) : GroupCommitTests<PostgreSqlFixture>(fixture);
