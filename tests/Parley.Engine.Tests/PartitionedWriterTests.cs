using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Engine.Storage;

namespace Parley.Engine.Tests;

/// <summary>
/// The routing of writes to several group-commit writers (<see cref="PartitionedWriter"/>, <see cref="EngineOptions.CommitWriters"/>):
/// by user, so a user's writes always share one writer's queue; and how many writers each database allows.
/// </summary>
public sealed class PartitionedWriterTests : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async ValueTask InitializeAsync() => _db = await TestDatabase.CreateAsync();

    public async ValueTask DisposeAsync() => await _db.DisposeAsync();

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public void AUserAlwaysMapsToOneWriterAndUsersSpreadOverEveryWriter()
    {
        // Random ids from a fixed seed, so the spread asserted below is the same on every run.
        var random = new Random(15);
        var users = Enumerable.Range(0, 400).Select(_ =>
        {
            var bytes = new byte[16];
            random.NextBytes(bytes);
            return new Guid(bytes);
        }).ToList();

        foreach (var writers in new[] { 1, 2, 4, 8, 32 })
        {
            var partitions = users.Select(user => PartitionedWriter.PartitionOf(user, writers)).ToList();

            // The same user (also as a fresh Guid of the same value) maps to the same writer every time.
            Assert.Equal(partitions, users.Select(user => PartitionedWriter.PartitionOf(new Guid(user.ToString()), writers)));
            Assert.All(partitions, partition => Assert.InRange(partition, 0, writers - 1));
            // Every writer gets at least a quarter of its even share.
            Assert.All(Enumerable.Range(0, writers), writer => Assert.True(partitions.Count(p => p == writer) >= 400 / writers / 4,
                $"writer {writer} of {writers} got {partitions.Count(p => p == writer)} of 400 users"));
        }
    }

    [Fact]
    public async Task EveryWriteOfAUserIsCommittedByThatUsersWriterAndNoOther()
    {
        await using var writer = new PartitionedWriter(
            SqliteFactory.Instance.CreateDataSource(_db.ConnectionString), SqlDialect.Sqlite(), writers: 4, maxBatch: 256, NullLogger.Instance, metrics: null);
        var users = Enumerable.Range(0, 12).Select(_ => Guid.CreateVersion7()).ToList();

        // One write at a time (SQLite lets one writer write at once): after each, exactly its user's writer counted it.
        for (var round = 0; round < 3; round++)
        {
            foreach (var user in users)
            {
                var before = writer.Writers.Select(w => w.Operations).ToArray();
                Assert.Equal(42, await writer.WriteAsync(user, readsBalance: false, (_, _) => Task.FromResult(42), Cancel));

                var expected = before.ToArray();
                expected[PartitionedWriter.PartitionOf(user, 4)]++;
                Assert.Equal(expected, writer.Writers.Select(w => w.Operations));
            }
        }

        Assert.Equal(36, writer.Operations);
        Assert.Equal(writer.Writers.Sum(w => w.Batches), writer.Batches);
    }

    [Fact]
    public void CommitWritersAreAutomaticPerDatabaseAndNeverMoreThanTheDatabaseCanUse()
    {
        var sqlite = SqlDialect.Sqlite();
        var postgreSql = SqlDialect.PostgreSql;

        Assert.Equal(1, sqlite.CommitWriters(0));
        Assert.Equal(1, sqlite.CommitWriters(1));
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => sqlite.CommitWriters(2));
        Assert.Equal(nameof(EngineOptions.CommitWriters), refused.ParamName);
        Assert.Contains("SQLite", refused.Message, StringComparison.Ordinal);
        Assert.Equal(4, postgreSql.CommitWriters(0));
        Assert.Equal(8, postgreSql.CommitWriters(8));
        Assert.Equal(32, postgreSql.CommitWriters(32));
        Assert.Equal(nameof(EngineOptions.CommitWriters), Assert.Throws<ArgumentOutOfRangeException>(() => postgreSql.CommitWriters(33)).ParamName);
        Assert.Equal(nameof(EngineOptions.CommitWriters), Assert.Throws<ArgumentOutOfRangeException>(() => postgreSql.CommitWriters(-1)).ParamName);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(33)]
    public void ACommitWritersSettingOutOfRangeFailsValidationNamingIt(int value)
    {
        var options = new EngineOptions { CommitWriters = value };

        Assert.Equal(nameof(EngineOptions.CommitWriters), Assert.Throws<ArgumentOutOfRangeException>(options.Validate).ParamName);
    }
}
