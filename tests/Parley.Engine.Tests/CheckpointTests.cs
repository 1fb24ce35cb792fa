using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Parley.Engine;

namespace Parley.Engine.Tests;

/// <summary>Checkpoints of a streaming reply (<see cref="EngineOptions.CheckpointInterval"/>): written while it streams, fenced, and what recovery makes of them.</summary>
public sealed class CheckpointTests : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async ValueTask InitializeAsync() => _db = await TestDatabase.CreateAsync();

    public async ValueTask DisposeAsync() => await _db.DisposeAsync();

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheReplySoFarIsCheckpointedWithTheFirstChunkAfterTheIntervalAndClearedWhenTheReplyIsStored()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        var time = new SteppedTime();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bot = new ThreeChunkBot(afterFirst: () => time.Advance(TimeSpan.FromSeconds(2)), beforeLast: gate.Task);
        await using var engine = await _db.EngineAsync(bot, o => o.CheckpointInterval = TimeSpan.FromSeconds(2), time: time);

        var events = engine.Send(new TurnRequest(user, conversation, "count"));
        var checkpoint = await WaitForAsync(() => PartialReplyAsync(conversation), value => value is not null);
        Assert.Equal("one two ", checkpoint); // "one " came before the interval passed; "two " after it
        gate.SetResult();
        var final = await events.ReadAllAsync(Timeout).LastAsync(Timeout);

        Assert.Equal("one two three", Assert.IsType<AssistantCompleted>(final).Message.Content);
        Assert.Null(await PartialReplyAsync(conversation));
    }

    [Fact]
    public async Task ACheckpointIsFencedByTheVersionSoOneLandingAfterTheReplysCommitWritesNothing()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        var store = _db.Store();
        var pending = new StoredMessage(Guid.CreateVersion7(), conversation, 1, MessageRoles.User, "hi", MessageStatuses.Pending, null, DateTime.UtcNow);
        await store.AcceptAsync(new AcceptTurn(user, 0, pending, 100, "test-node", null), Timeout);

        Assert.False(await store.CheckpointAsync(new TurnCheckpoint(user, conversation, 0, "stale"), Timeout));
        Assert.True(await store.CheckpointAsync(new TurnCheckpoint(user, conversation, 1, "h"), Timeout));
        Assert.Equal("h", await PartialReplyAsync(conversation));
        var reply = new StoredMessage(Guid.CreateVersion7(), conversation, 2, MessageRoles.Assistant, "hi", MessageStatuses.Completed, null, DateTime.UtcNow);
        Assert.True((await store.CompleteAsync(new CompleteTurn(user, 1, reply, 0), Timeout)).Completed);
        Assert.Null(await PartialReplyAsync(conversation));

        // The race: the turn's last checkpoint reaches the writer after its reply was committed.
        Assert.False(await store.CheckpointAsync(new TurnCheckpoint(user, conversation, 1, "hi"), Timeout));
        Assert.Null(await PartialReplyAsync(conversation));
    }

    [Fact]
    public async Task ATurnLeftPendingWithACheckpointIsStoredFailedWithThatTextAndRefunded()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        // What a crash mid-reply leaves: a charged, pending user message and the reply's last checkpoint.
        var store = _db.Store();
        var pending = new StoredMessage(Guid.CreateVersion7(), conversation, 1, MessageRoles.User, "left behind", MessageStatuses.Pending, null, DateTime.UtcNow);
        await store.AcceptAsync(new AcceptTurn(user, 0, pending, 100, "test-node", null), Timeout);
        await store.CheckpointAsync(new TurnCheckpoint(user, conversation, 1, "left"), Timeout);
        Assert.Equal(3_900, await _db.BalanceAsync(user));

        await using var engine = await _db.EngineAsync();
        Assert.Equal(1, await engine.RecoverPendingTurnsAsync(Timeout));

        var messages = await _db.MessagesAsync(conversation);
        Assert.Equal([("left behind", MessageStatuses.Failed), ("left", MessageStatuses.Failed)], messages.Select(m => (m.Content, m.Status)));
        Assert.Equal(4_000, await _db.BalanceAsync(user));
        Assert.Null(await PartialReplyAsync(conversation));
    }

    [Theory]
    [InlineData(50)]
    [InlineData(11 * 60 * 1000)]
    public void ACheckpointIntervalOutOfRangeIsRefused(int milliseconds)
    {
        var options = new EngineOptions { CheckpointInterval = TimeSpan.FromMilliseconds(milliseconds) };

        Assert.Equal(nameof(EngineOptions.CheckpointInterval), Assert.ThrowsAny<ArgumentOutOfRangeException>(options.Validate).ParamName);
    }

    private async Task<string?> PartialReplyAsync(Guid conversation)
    {
        await using var db = _db.Context();
        return await db.Conversations.Where(c => c.Id == conversation).Select(c => c.PartialReply).SingleAsync(Timeout);
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "The awaited state was not reached within 60 s.");
            await Task.Delay(10, Timeout); // the checkpoint is written by the group-commit writer, not awaited by the turn
        }
    }

    /// <summary>The system clock, whose timestamps the test moves forward (timers run on real time).</summary>
    private sealed class SteppedTime : TimeProvider
    {
        private long _offset;

        public override long GetTimestamp() => base.GetTimestamp() + Interlocked.Read(ref _offset);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offset, (long)(by.TotalSeconds * TimestampFrequency));
    }

    /// <summary>Streams "one ", "two ", "three": runs <c>afterFirst</c> after the first chunk and waits for <c>beforeLast</c> before the last.</summary>
    private sealed class ThreeChunkBot(Action afterFirst, Task beforeLast) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, "one ");
            afterFirst();
            yield return new ChatResponseUpdate(ChatRole.Assistant, "two ");
            await beforeLast.WaitAsync(cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, "three");
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
