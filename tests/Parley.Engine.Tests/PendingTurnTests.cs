using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Parley.Engine.Tests;

/// <summary>
/// A pending turn left by another node that is still alive: the next turn waits for it while it is young, and settles
/// it once it is older than <see cref="EngineOptions.TurnTimeout"/> plus <see cref="TurnProtocol.PendingGrace"/> —
/// on a clock the test moves (<see cref="FakeTimeProvider"/>), so no test waits for minutes to pass.
/// </summary>
public sealed class PendingTurnTests : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async ValueTask InitializeAsync() => _db = await TestDatabase.CreateAsync();

    public async ValueTask DisposeAsync() => await _db.DisposeAsync();

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AYoungPendingTurnOfALiveNodeIsWaitedForAndSettledOnceAbandoned()
    {
        var time = new ObservedTime();
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        var store = _db.Store();
        var pending = new StoredMessage(Guid.CreateVersion7(), conversation, 1, MessageRoles.User, "still running elsewhere", MessageStatuses.Pending, null,
            time.GetUtcNow().UtcDateTime);
        Assert.Equal(AcceptStatus.Accepted, (await store.AcceptAsync(new AcceptTurn(user, 0, pending, 100, "live-node", null), Timeout)).Status);
        var options = new EngineOptions { NodeId = "this-node", TurnTimeout = TimeSpan.FromMinutes(2) };
        var protocol = new TurnProtocol(store, new EchoChatClient(), options, time, new EngineMetrics(), new FixedNodes(active: true), NullLogger<TurnProtocol>.Instance);
        var sink = new CollectingSink();

        var run = protocol.RunAsync(new ConversationState(conversation), new TurnRequest(user, conversation, "next"), streaming: false, sink, Timeout);

        // The turn backs off (a timer on the test's clock) instead of settling the live node's young turn.
        await time.WaitForTimerAsync(Timeout);
        Assert.False(run.IsCompleted);
        Assert.Equal([MessageStatuses.Pending], (await _db.MessagesAsync(conversation)).Select(m => m.Status));

        // Once the pending turn is older than a turn may take, it is settled (the echo bot answers it), then the new turn runs.
        time.Advance(options.TurnTimeout + TurnProtocol.PendingGrace + TimeSpan.FromSeconds(1));
        await run.WaitAsync(TimeSpan.FromSeconds(30), Timeout);

        Assert.IsType<AssistantCompleted>(sink.Events[^1]);
        var messages = await _db.MessagesAsync(conversation);
        Assert.Equal(["still running elsewhere", "still running elsewhere", "next", "next"], messages.Select(m => m.Content));
        Assert.All(messages, m => Assert.Equal(MessageStatuses.Completed, m.Status));
        Assert.Equal(4_000 - 200, await _db.BalanceAsync(user));
    }

    /// <summary>A <see cref="FakeTimeProvider"/> that tells when a timer (a <c>Task.Delay</c> on it) was created.</summary>
    private sealed class ObservedTime : FakeTimeProvider
    {
        private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            _timers.Writer.TryWrite(dueTime);
            return timer;
        }

        public async Task WaitForTimerAsync(CancellationToken cancellationToken) => await _timers.Reader.ReadAsync(cancellationToken);
    }
}
