using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;
using Parley.Engine.Storage;

namespace Parley.Engine.Tests;

/// <summary>
/// The engine on a 2-silo Orleans <see cref="TestCluster"/> over one SQLite database: a conversation has one
/// activation in the cluster whichever silo a turn enters through, its turns run in arrival order, idle activations
/// are collected, a conversation moves when its silo stops, and the database's version check fences a second,
/// stale activation.
/// </summary>
public sealed class ClusterTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private TestDatabase Db => fixture.Database;

    [Fact]
    public async Task TurnsEnteringThroughBothSilosRunOneAtATimeEachSeeingEveryEarlierTurn()
    {
        var user = await Db.AddUserAsync(balance: 1_000_000);
        var conversation = await Db.AddConversationAsync(user);
        var silos = fixture.ActiveSilos();
        var gate = fixture.HoldNextTurns();
        var grain = fixture.Grains(silos[0]).GetGrain<IConversationGrain>(conversation);
        var seenBefore = fixture.SeenCount;
        var conflictsBefore = fixture.Statistics().Conflicts;

        // Turn 0 runs and is held in the bot; turns 1..7 queue behind it, entering alternately through each silo.
        var sends = new List<Task<TurnResult>> { fixture.Client(silos[0]).SendAndWaitAsync(new TurnRequest(user, conversation, "turn 0")) };
        await WaitUntilAsync(async () => (await grain.GetStatusAsync()).RunningTurn is not null);
        sends.AddRange(Enumerable.Range(1, 7).Select(i => fixture.Client(silos[i % 2]).SendAndWaitAsync(new TurnRequest(user, conversation, $"turn {i}"))));
        await WaitUntilAsync(async () => (await grain.GetStatusAsync()).Queued == 7);
        gate.SetResult();
        var results = await Task.WhenAll(sends);

        Assert.All(results, r => Assert.Null(r.Failure));
        var messages = await Db.MessagesAsync(conversation);
        Assert.Equal(Enumerable.Range(1, 16).Select(i => (long)i), messages.Select(m => m.Sequence));
        var histories = fixture.SeenSince(seenBefore);
        Assert.True(fixture.MaxConcurrentTurns == 1, $"max {fixture.MaxConcurrentTurns}: " + string.Join(" | ", histories.Select(h => string.Join(",", h.Select(m => m.Text)))));
        for (var i = 0; i < histories.Count; i++)
        {
            // The i-th turn to run saw the i turns before it (user + reply each) and its own message, as stored.
            Assert.Equal(messages.Take(2 * i + 1).Select(m => m.Content), histories[i].Select(m => m.Text));
        }

        Assert.Equal(conflictsBefore, fixture.Statistics().Conflicts); // one activation: nothing to conflict with
    }

    [Fact]
    public async Task AnIdleConversationIsCollectedAndItsContextRebuiltOnTheNextTurn()
    {
        var user = await Db.AddUserAsync();
        var conversation = await Db.AddConversationAsync(user);
        var client = fixture.Client(fixture.ActiveSilos()[0]);
        Assert.Null((await client.SendAndWaitAsync(new TurnRequest(user, conversation, "one"))).Failure);
        var before = fixture.Statistics();

        // Idle for longer than Engine:IdleTimeout (2 s): Orleans collects every activation.
        await WaitUntilAsync(() => Task.FromResult(fixture.Statistics().ResidentConversations == 0), TimeSpan.FromSeconds(30));
        var second = await client.SendAndWaitAsync(new TurnRequest(user, conversation, "two"));

        var after = fixture.Statistics();
        Assert.Equal(3, second.UserMessage!.Sequence);
        Assert.True(after.Evictions > before.Evictions);
        Assert.Equal(before.ContextMisses + 1, after.ContextMisses); // rebuilt from the database
    }

    [Fact]
    public async Task AConversationIsServedByTheOtherSiloWhenItsSiloStops()
    {
        var user = await Db.AddUserAsync(balance: 1_000_000);
        var silos = fixture.ActiveSilos();
        var client = fixture.Client(silos[0]);
        // Find a conversation whose grain was placed on the second silo (a first turn entering there).
        Guid conversation;
        while (true)
        {
            conversation = await Db.AddConversationAsync(user);
            Assert.Null((await fixture.Client(silos[1]).SendAndWaitAsync(new TurnRequest(user, conversation, "one"))).Failure);
            if ((await fixture.Grains(silos[0]).GetGrain<IConversationGrain>(conversation).GetStatusAsync()).NodeId == silos[1].Name)
            {
                break;
            }
        }

        await fixture.Cluster.StopSiloAsync(silos[1]);
        try
        {
            var second = await client.SendAndWaitAsync(new TurnRequest(user, conversation, "two"));
            var status = await fixture.Grains(silos[0]).GetGrain<IConversationGrain>(conversation).GetStatusAsync();

            Assert.Null(second.Failure);
            Assert.Equal(3, second.UserMessage!.Sequence);
            Assert.Equal(silos[0].Name, status.NodeId);
            Assert.Equal(["one", "one", "two", "two"], (await Db.MessagesAsync(conversation)).Select(m => m.Content));
        }
        finally
        {
            await fixture.Cluster.StartAdditionalSilosAsync(1);
        }
    }

    [Fact]
    public async Task AStaleSecondActivationCannotCommitAndTheGrainRetriesOnTheNewVersion()
    {
        var user = await Db.AddUserAsync();
        var conversation = await Db.AddConversationAsync(user);
        var client = fixture.Client(fixture.ActiveSilos()[0]);
        Assert.Null((await client.SendAndWaitAsync(new TurnRequest(user, conversation, "through the grain"))).Failure); // its context is now cached

        // A second activation of the same conversation (as a membership change can briefly produce) writes a turn.
        var other = new TurnProtocol(Db.Store(), new EchoChatClient(), new EngineOptions { NodeId = "other-activation" }, TimeProvider.System,
            new EngineMetrics(), new FixedNodes(active: false), NullLogger<TurnProtocol>.Instance);
        var sink = new CollectingSink();
        await other.RunAsync(new ConversationState(conversation), new TurnRequest(user, conversation, "through the other"), streaming: false, sink, Timeout);
        Assert.IsType<AssistantCompleted>(sink.Events[^1]);
        var conflictsBefore = fixture.Statistics().Conflicts;

        // The grain's cached context is one version behind: its commit is refused, it reloads and commits after the other.
        var third = await client.SendAndWaitAsync(new TurnRequest(user, conversation, "through the grain again"));

        Assert.Null(third.Failure);
        Assert.Equal(5, third.UserMessage!.Sequence);
        Assert.Equal(conflictsBefore + 1, fixture.Statistics().Conflicts);
        var messages = await Db.MessagesAsync(conversation);
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), messages.Select(m => m.Sequence));
        Assert.Equal(["through the grain", "through the other", "through the grain again"], messages.Where(m => m.Role == MessageRoles.User).Select(m => m.Content));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold in time.");
            await Task.Delay(20, Timeout);
        }
    }

}

/// <summary>A 2-silo <see cref="TestCluster"/> whose silos run the engine over one SQLite database, each with its own store (group-commit writer).</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>Settings every silo reads from its configuration.</summary>
    private const string ConnectionKey = "ParleyTests:ConnectionString";

    private static TaskCompletionSource? _gate;

    public TestDatabase Database { get; private set; } = null!;

    public TestCluster Cluster { get; private set; } = null!;

    private static int _running;
    private static int _maxRunning;

    /// <summary>The bot of every silo: echoes, but waits at the current gate, if any, before its second chunk; counts overlapping turns.</summary>
    private static ScriptedBot Bot { get; } = new(async (_, ct) =>
    {
        var running = Interlocked.Increment(ref _running);
        InterlockedMax(ref _maxRunning, running);
        try
        {
            await (Volatile.Read(ref _gate)?.Task.WaitAsync(ct) ?? Task.CompletedTask);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    });

    /// <summary>Most turns the bot ran at once so far.</summary>
    public int MaxConcurrentTurns => Volatile.Read(ref _maxRunning);

    /// <summary>How many histories the bot has seen so far.</summary>
    public int SeenCount
    {
        get
        {
            lock (Bot.Seen)
            {
                return Bot.Seen.Count;
            }
        }
    }

    /// <summary>The histories the bot saw after the first <paramref name="count"/>, in the order the turns ran.</summary>
    public List<IReadOnlyList<Microsoft.Extensions.AI.ChatMessage>> SeenSince(int count)
    {
        lock (Bot.Seen)
        {
            return Bot.Seen.Skip(count).ToList();
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
        {
            current = seen;
        }
    }

    public async ValueTask InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        var builder = new TestClusterBuilder(2);
        builder.Properties[ConnectionKey] = Database.ConnectionString;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>Makes the bot wait in every turn from now until the returned gate is opened.</summary>
    public TaskCompletionSource HoldNextTurns()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _gate, gate);
        return gate;
    }

    public IReadOnlyList<SiloHandle> ActiveSilos() => [.. Cluster.GetActiveSilos()];

    public IServiceProvider Services(SiloHandle silo) => Cluster.GetSiloServiceProvider(silo.SiloAddress);

    public ConversationClient Client(SiloHandle silo) => Services(silo).GetRequiredService<ConversationClient>();

    public IGrainFactory Grains(SiloHandle silo) => Services(silo).GetRequiredService<IGrainFactory>();

    /// <summary>The engine counters summed over the active silos.</summary>
    public EngineStatistics Statistics() => ActiveSilos().Select(s => Client(s).GetStatistics()).Aggregate((a, b) => new EngineStatistics(
        a.ResidentConversations + b.ResidentConversations, a.ContextHits + b.ContextHits, a.ContextMisses + b.ContextMisses,
        a.Evictions + b.Evictions, a.TurnsCompleted + b.TurnsCompleted, a.TurnsFailed + b.TurnsFailed, a.TurnsRejected + b.TurnsRejected,
        a.Conflicts + b.Conflicts, a.Recovered + b.Recovered, a.Replayed + b.Replayed));

    public async ValueTask DisposeAsync()
    {
        Volatile.Read(ref _gate)?.TrySetResult();
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await Database.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var connectionString = siloBuilder.Configuration[ConnectionKey]!;
            var options = (IServiceProvider sp) => new EngineOptions
            {
                NodeId = sp.GetRequiredService<IOptions<SiloOptions>>().Value.SiloName,
                IdleTimeout = TimeSpan.FromSeconds(2),
            };
            TestEngine.AddEngine(siloBuilder.Services,
                _ => new SqlTurnStore(SqliteFactory.Instance.CreateDataSource(connectionString), SqlDialect.Sqlite(), 256, NullLogger<SqlTurnStore>.Instance),
                Bot, options, TimeProvider.System);
            siloBuilder.Configure<GrainCollectionOptions>(collection =>
            {
                collection.CollectionAge = TimeSpan.FromSeconds(2);
                collection.CollectionQuantum = TimeSpan.FromMilliseconds(500);
            });
        }
    }
}
