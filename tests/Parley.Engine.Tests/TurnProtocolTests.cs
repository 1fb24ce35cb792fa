using Microsoft.Extensions.AI;
using Parley.Engine;

namespace Parley.Engine.Tests;

/// <summary>The engine on one node (a silo of its own): the turn protocol's rules through <see cref="ConversationClient"/>.</summary>
public sealed class TurnProtocolTests : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async ValueTask InitializeAsync() => _db = await TestDatabase.CreateAsync();

    public async ValueTask DisposeAsync() => await _db.DisposeAsync();

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConcurrentSendsToOneConversationRunInStrictAlternatingOrder()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        await using var engine = await _db.EngineAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(() => engine.SendAndWaitAsync(new TurnRequest(user, conversation, $"message {i}")))));

        Assert.All(results, r => Assert.Null(r.Failure));
        var messages = await _db.MessagesAsync(conversation);
        Assert.Equal(32, messages.Count);
        Assert.Equal(Enumerable.Range(1, 32).Select(i => (long)i), messages.Select(m => m.Sequence));
        for (var i = 0; i < messages.Count; i += 2)
        {
            Assert.Equal(MessageRoles.User, messages[i].Role);
            Assert.Equal(MessageRoles.Assistant, messages[i + 1].Role);
            Assert.Equal(messages[i].Content, messages[i + 1].Content);
            Assert.All(new[] { messages[i], messages[i + 1] }, m => Assert.Equal(MessageStatuses.Completed, m.Status));
        }

        // Every acknowledged turn is the one stored at its sequences.
        foreach (var result in results)
        {
            Assert.Contains(messages, m => m.Id == result.UserMessage!.Id && m.Sequence + 1 == result.AssistantMessage!.Sequence);
        }
    }

    [Fact]
    public async Task EachTurnSeesTheFullContextOfTheTurnsBeforeIt()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        var bot = new ScriptedBot();
        await using var engine = await _db.EngineAsync(bot);

        foreach (var text in new[] { "one", "two", "three" })
        {
            Assert.Null((await engine.SendAndWaitAsync(new TurnRequest(user, conversation, text))).Failure);
        }

        Assert.Equal(["one"], bot.Seen[0].Select(m => m.Text));
        Assert.Equal(["one", "one", "two", "two", "three"], bot.Seen[2].Select(m => m.Text));
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.User, ChatRole.Assistant, ChatRole.User], bot.Seen[2].Select(m => m.Role));
    }

    [Fact]
    public async Task ABlockedConversationDoesNotHoldUpAnother()
    {
        var user = await _db.AddUserAsync();
        var slow = await _db.AddConversationAsync(user);
        var fast = await _db.AddConversationAsync(user);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bot = new ScriptedBot((history, ct) => history[^1].Text == "hold" ? gate.Task.WaitAsync(ct) : Task.CompletedTask);
        await using var engine = await _db.EngineAsync(bot);

        var held = engine.SendAndWaitAsync(new TurnRequest(user, slow, "hold"));
        var other = await engine.SendAndWaitAsync(new TurnRequest(user, fast, "go")).WaitAsync(TimeSpan.FromSeconds(10), Timeout);

        Assert.Null(other.Failure);
        Assert.False(held.IsCompleted);
        gate.SetResult();
        Assert.Null((await held).Failure);
    }

    [Fact]
    public async Task MessagesAreDurableBeforeTheirEventsAreEmitted()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        await using var engine = await _db.EngineAsync(new EchoChatClient(TimeSpan.FromMilliseconds(20)));

        var sawUser = false;
        var sawAssistant = false;
        await foreach (var turnEvent in engine.Send(new TurnRequest(user, conversation, "durable please")).ReadAllAsync(Timeout))
        {
            var stored = await _db.MessagesAsync(conversation);
            switch (turnEvent)
            {
                case UserMessageStored userStored:
                    Assert.Contains(stored, m => m.Id == userStored.Message.Id);
                    Assert.Equal(3_900, await _db.BalanceAsync(user));
                    sawUser = true;
                    break;
                case AssistantCompleted completed:
                    Assert.Contains(stored, m => m.Id == completed.Message.Id && m.Content == "durable please");
                    sawAssistant = true;
                    break;
            }
        }

        Assert.True(sawUser && sawAssistant);
    }

    [Fact]
    public async Task ParallelSendsChargeAtomicallyAndRejectBeyondTheBalance()
    {
        var user = await _db.AddUserAsync(balance: 4_000);
        var conversations = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => _db.AddConversationAsync(user)));
        await using var engine = await _db.EngineAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            Task.Run(() => engine.SendAndWaitAsync(new TurnRequest(user, conversations[i % 6], $"m{i}")))));

        Assert.Equal(40, results.Count(r => r.Failure is null));
        Assert.Equal(20, results.Count(r => r.Failure?.Error == TurnError.InsufficientBalance));
        Assert.Equal(0, await _db.BalanceAsync(user));
        var stored = 0;
        foreach (var conversation in conversations)
        {
            stored += (await _db.MessagesAsync(conversation)).Count(m => m.Role == MessageRoles.User);
        }

        Assert.Equal(40, stored);
    }

    [Fact]
    public async Task ARepeatedClientMessageIdReturnsTheOriginalTurnWithoutASecondCharge()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        await using var engine = await _db.EngineAsync();

        var first = await engine.SendAndWaitAsync(new TurnRequest(user, conversation, "hello", "key-1"));
        var again = await engine.SendAndWaitAsync(new TurnRequest(user, conversation, "hello", "key-1"));
        var reused = await engine.SendAndWaitAsync(new TurnRequest(user, conversation, "different", "key-1"));

        Assert.Equal(first.UserMessage!.Id, again.UserMessage!.Id);
        Assert.Equal(first.AssistantMessage!.Id, again.AssistantMessage!.Id);
        Assert.Equal(TurnError.ClientMessageIdReused, reused.Failure!.Error);
        Assert.Equal(2, (await _db.MessagesAsync(conversation)).Count);
        Assert.Equal(3_900, await _db.BalanceAsync(user));
    }

    [Fact]
    public async Task ARepeatedClientMessageIdIsFoundInTheDatabaseAfterTheContextWasRebuilt()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        await using (var engine = await _db.EngineAsync())
        {
            await engine.SendAndWaitAsync(new TurnRequest(user, conversation, "hello", "key-1"));
        }

        await using var restarted = await _db.EngineAsync();
        var again = await restarted.SendAndWaitAsync(new TurnRequest(user, conversation, "hello", "key-1"));

        Assert.Null(again.Failure);
        Assert.Equal(2, (await _db.MessagesAsync(conversation)).Count);
        Assert.Equal(3_900, await _db.BalanceAsync(user));
    }

    [Fact]
    public async Task AFailingBotOnAStreamedTurnStoresAFailedTurnAndRefundsIt()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        var bot = new ScriptedBot((_, _) => throw new HttpRequestException("model down"));
        await using var engine = await _db.EngineAsync(bot);

        var events = new List<TurnEvent>();
        await foreach (var turnEvent in engine.Send(new TurnRequest(user, conversation, "hello")).ReadAllAsync(Timeout))
        {
            events.Add(turnEvent);
        }

        Assert.IsType<UserMessageStored>(events[0]);
        var failed = Assert.IsType<TurnFailed>(events[^1]);
        Assert.Equal(TurnError.BotFailed, failed.Error);
        Assert.Equal(4_000, failed.TokenBalance);
        Assert.Equal(4_000, await _db.BalanceAsync(user));
        var messages = await _db.MessagesAsync(conversation);
        Assert.Equal([MessageRoles.User, MessageRoles.Assistant], messages.Select(m => m.Role));
        Assert.All(messages, m => Assert.Equal(MessageStatuses.Failed, m.Status));
    }

    [Fact]
    public async Task AFailingBotOnAWaitedTurnStoresNothingAndChargesNothing()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        await using var engine = await _db.EngineAsync(new ScriptedBot((_, _) => throw new HttpRequestException("model down")));

        var result = await engine.SendAndWaitAsync(new TurnRequest(user, conversation, "hello"));

        Assert.Equal(TurnError.BotFailed, result.Failure!.Error);
        Assert.Null(result.UserMessage);
        Assert.Empty(await _db.MessagesAsync(conversation));
        Assert.Equal(4_000, await _db.BalanceAsync(user));
    }

    [Fact]
    public async Task StoppingAStreamStoresThePartialReplyAsCancelled()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        await using var engine = await _db.EngineAsync(new EchoChatClient(TimeSpan.FromSeconds(30)), o => o.ContinueOnDisconnect = false);
        using var abort = new CancellationTokenSource();

        var events = engine.Send(new TurnRequest(user, conversation, "ab cd ef gh"), abort.Token);
        await foreach (var turnEvent in events.ReadAllAsync(Timeout))
        {
            if (turnEvent is AssistantDelta)
            {
                await abort.CancelAsync();
                break;
            }
        }

        // The turn settles in the background; the next turn queues behind it and sees it stored.
        var next = await engine.SendAndWaitAsync(new TurnRequest(user, conversation, "x"));
        Assert.NotNull(next.UserMessage);
        var messages = await _db.MessagesAsync(conversation);
        Assert.Equal(MessageStatuses.Cancelled, messages[1].Status);
        Assert.Equal("ab ", messages[1].Content);
        Assert.Equal(3_800, await _db.BalanceAsync(user)); // a stopped turn was still accepted
    }

    [Fact]
    public async Task AFullMailboxRejectsTheTurnWithoutStoringOrCharging()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var engine = await _db.EngineAsync(new ScriptedBot((_, ct) => gate.Task.WaitAsync(ct)), o => o.MailboxCapacity = 1);

        var running = engine.Send(new TurnRequest(user, conversation, "first"));
        await running.WaitToReadAsync(Timeout); // the first turn has left the mailbox and is running
        var queued = engine.SendAndWaitAsync(new TurnRequest(user, conversation, "second"));
        var rejected = await engine.SendAndWaitAsync(new TurnRequest(user, conversation, "third"));

        Assert.Equal(TurnError.QueueFull, rejected.Failure!.Error);
        gate.SetResult();
        Assert.Null((await queued).Failure);
        Assert.Equal(4, (await _db.MessagesAsync(conversation)).Count);
        Assert.Equal(3_800, await _db.BalanceAsync(user));
    }

    [Fact]
    public async Task ASettleSentWhileATurnRunsWaitsInTheGrainsLineForIt()
    {
        // Turn calls interleave to join the grain's own line; a settle must queue in that line too. Were it to run at once,
        // it would settle the running turn's pending user message (this node's) under it, failing and refunding it.
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var engine = await _db.EngineAsync(new ScriptedBot((_, ct) => gate.Task.WaitAsync(ct)));
        var grain = engine.Grains.GetGrain<IConversationGrain>(conversation);

        var running = engine.Send(new TurnRequest(user, conversation, "first"));
        await running.WaitToReadAsync(Timeout); // the user message is stored: the turn is pending and running
        var settle = grain.SettleAsync(new SettlePendingTurn(conversation, "test-node"));
        var status = await grain.GetStatusAsync(); // answered after the settle reached the grain (one sender, in order)
        Assert.NotNull(status.RunningTurn);
        gate.SetResult();

        Assert.Null(await settle.WaitAsync(Timeout)); // it ran after the turn: nothing was pending any more
        var events = await running.ReadAllAsync(Timeout).ToListAsync(Timeout);
        Assert.IsType<AssistantCompleted>(events[^1]);
        Assert.All(await _db.MessagesAsync(conversation), m => Assert.Equal(MessageStatuses.Completed, m.Status));
        Assert.Equal(3_900, await _db.BalanceAsync(user));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n ")]
    public async Task EmptyContentIsRejectedWithoutStoringOrCharging(string content)
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        await using var engine = await _db.EngineAsync();

        var result = await engine.SendAndWaitAsync(new TurnRequest(user, conversation, content));

        Assert.Equal(TurnError.InvalidContent, result.Failure!.Error);
        Assert.Empty(await _db.MessagesAsync(conversation));
        Assert.Equal(4_000, await _db.BalanceAsync(user));
    }

    [Fact]
    public async Task OversizedContentIsRejected()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        await using var engine = await _db.EngineAsync(configure: o => o.MaxContentLength = 10);

        Assert.Null((await engine.SendAndWaitAsync(new TurnRequest(user, conversation, new string('a', 10)))).Failure);
        Assert.Equal(TurnError.InvalidContent, (await engine.SendAndWaitAsync(new TurnRequest(user, conversation, new string('a', 11)))).Failure!.Error);
    }

    [Fact]
    public async Task AnotherUsersConversationIsNotFound()
    {
        var owner = await _db.AddUserAsync();
        var intruder = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(owner);
        await using var engine = await _db.EngineAsync();

        Assert.Equal(TurnError.NotFound, (await engine.SendAndWaitAsync(new TurnRequest(intruder, conversation, "hi"))).Failure!.Error);
        Assert.Equal(TurnError.NotFound, (await engine.SendAndWaitAsync(new TurnRequest(owner, Guid.NewGuid(), "hi"))).Failure!.Error);
        Assert.Equal(4_000, await _db.BalanceAsync(intruder));
    }

    [Fact]
    public async Task APendingTurnLeftByACrashIsCompletedOnRestart()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        // What a crash between the two commits of a turn leaves behind: a charged, pending user message.
        var store = _db.Store();
        var pending = new StoredMessage(Guid.CreateVersion7(), conversation, 1, MessageRoles.User, "left behind", MessageStatuses.Pending, null, DateTime.UtcNow);
        Assert.Equal(AcceptStatus.Accepted, (await store.AcceptAsync(new AcceptTurn(user, 0, pending, 100, "test-node", null), Timeout)).Status);

        await using var engine = await _db.EngineAsync();
        Assert.Equal(1, await engine.RecoverPendingTurnsAsync(Timeout));
        var messages = await _db.MessagesAsync(conversation); // recovery returns once every pending turn is settled

        Assert.Equal(["left behind", "left behind"], messages.Select(m => m.Content));
        Assert.All(messages, m => Assert.Equal(MessageStatuses.Completed, m.Status));
        Assert.Equal(3_900, await _db.BalanceAsync(user));
        Assert.Equal(1, engine.GetStatistics().Recovered);
    }

    [Fact]
    public async Task APendingTurnWhoseBotFailsOnRecoveryIsMarkedFailedAndRefunded()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        var store = _db.Store();
        var pending = new StoredMessage(Guid.CreateVersion7(), conversation, 1, MessageRoles.User, "left behind", MessageStatuses.Pending, null, DateTime.UtcNow);
        await store.AcceptAsync(new AcceptTurn(user, 0, pending, 100, "test-node", null), Timeout);

        await using var engine = await _db.EngineAsync(new ScriptedBot((_, _) => throw new InvalidOperationException("down")));
        // A new turn on the conversation settles the old one first (failed, refunded), then runs (and fails, uncharged).
        var next = await engine.SendAndWaitAsync(new TurnRequest(user, conversation, "next"));

        Assert.Equal(TurnError.BotFailed, next.Failure!.Error);
        var messages = await _db.MessagesAsync(conversation);
        Assert.Equal(2, messages.Count);
        Assert.All(messages, m => Assert.Equal(MessageStatuses.Failed, m.Status));
        Assert.Equal(4_000, await _db.BalanceAsync(user));
    }

    [Fact]
    public async Task TwoClustersWritingOneConversationRetryOnTheVersionTheOtherCommitted()
    {
        var user = await _db.AddUserAsync(balance: 1_000_000);
        var conversation = await _db.AddConversationAsync(user);
        await using var nodeA = await _db.EngineAsync(configure: o => o.NodeId = "node-a");
        await using var nodeB = await _db.EngineAsync(configure: o => o.NodeId = "node-b");

        // Each node caches the conversation's context with its first turn; each later turn finds the other node's
        // commit in the way: its commit is refused once, it reloads and commits on the new version.
        var turns = new List<TurnResult>();
        foreach (var (node, content) in new[] { (nodeA, "a1"), (nodeB, "b1"), (nodeA, "a2"), (nodeB, "b2") })
        {
            turns.Add(await node.SendAndWaitAsync(new TurnRequest(user, conversation, content)));
        }

        Assert.All(turns, turn => Assert.Null(turn.Failure));
        Assert.Equal([1L, 3L, 5L, 7L], turns.Select(t => t.UserMessage!.Sequence));
        Assert.Equal((1L, 1L), (nodeA.GetStatistics().Conflicts, nodeB.GetStatistics().Conflicts));
        var messages = await _db.MessagesAsync(conversation);
        Assert.Equal(["a1", "a1", "b1", "b1", "a2", "a2", "b2", "b2"], messages.Select(m => m.Content));
        Assert.Equal(1_000_000 - 400, await _db.BalanceAsync(user));
    }

    [Fact]
    public async Task TwoClustersWritingOneConversationConcurrentlyKeepContiguousAlternatingSequences()
    {
        var user = await _db.AddUserAsync(balance: 1_000_000);
        var conversation = await _db.AddConversationAsync(user);
        await using var nodeA = await _db.EngineAsync(configure: o => o.NodeId = "node-a");
        await using var nodeB = await _db.EngineAsync(configure: o => o.NodeId = "node-b");

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            (i % 2 == 0 ? nodeA : nodeB).SendAndWaitAsync(new TurnRequest(user, conversation, $"m{i}")))));

        // However the nodes interleave, each turn is either acknowledged and stored, or (after too many conflicts)
        // refused as busy and neither stored nor charged.
        var acknowledged = results.Where(r => r.Failure is null).ToList();
        Assert.All(results.Where(r => r.Failure is not null), r => Assert.Equal(TurnError.Unavailable, r.Failure!.Error));
        var messages = await _db.MessagesAsync(conversation);
        Assert.Equal(Enumerable.Range(1, messages.Count).Select(i => (long)i), messages.Select(m => m.Sequence));
        for (var i = 0; i < messages.Count; i += 2)
        {
            Assert.Equal(MessageRoles.User, messages[i].Role);
            Assert.Equal(MessageRoles.Assistant, messages[i + 1].Role);
            Assert.Equal(messages[i].Content, messages[i + 1].Content);
        }

        Assert.Equal(acknowledged.Select(r => r.UserMessage!.Id).Order(), messages.Where(m => m.Role == MessageRoles.User).Select(m => m.Id).Order());
        Assert.Equal(1_000_000 - (100 * acknowledged.Count), await _db.BalanceAsync(user));
    }

    [Fact]
    public async Task TheContextWindowBoundsWhatTheBotSees()
    {
        var user = await _db.AddUserAsync();
        var conversation = await _db.AddConversationAsync(user);
        var bot = new ScriptedBot();
        await using var engine = await _db.EngineAsync(bot, o => o.ContextWindowMessages = 4);

        for (var i = 0; i < 5; i++)
        {
            await engine.SendAndWaitAsync(new TurnRequest(user, conversation, $"m{i}"));
        }

        Assert.Equal(["m3", "m3", "m4"], bot.Seen[^1].Select(m => m.Text));
    }

    [Fact]
    public async Task EchoBotStreamsALongTextInAtMostSixteenChunks()
    {
        using var echo = new EchoChatClient();
        var text = string.Join(" ", Enumerable.Range(0, 100).Select(i => $"w{i}")) + "  \n";
        var chunks = new List<string>();
        await foreach (var update in echo.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, text)], cancellationToken: Timeout))
        {
            chunks.Add(update.Text);
        }

        Assert.InRange(chunks.Count, 2, EchoChatClient.MaxChunks);
        Assert.Equal(text, string.Concat(chunks));
    }

    [Fact]
    public async Task EchoBotStreamsTheExactTextInSeveralChunks()
    {
        using var echo = new EchoChatClient();
        var chunks = new List<string>();
        await foreach (var update in echo.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hello 👋 world")], cancellationToken: Timeout))
        {
            chunks.Add(update.Text);
        }

        Assert.Equal(["hello ", "👋 ", "world"], chunks);
    }
}
