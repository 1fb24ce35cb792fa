using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>The conversation engine's rules, observed through HTTP: ordering, parallelism, back-pressure, balance atomicity, failures.</summary>
public abstract class EngineTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task ConcurrentSendsToOneConversationAreStoredInStrictAlternation()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var contents = Enumerable.Range(1, 16).Select(i => $"concurrent message {i:00}").ToArray();

        var turns = await Task.WhenAll(contents.Select(content => client.SendAsync(conversation.Id, content)));

        for (var i = 0; i < turns.Length; i++)
        {
            Api.AssertEchoTurn(turns[i], contents[i]);
        }

        var messages = await client.GetAllMessagesAsync(conversation.Id);
        Assert.Equal(Enumerable.Range(1, 32).Select(n => (long)n), messages.Select(m => m.Sequence));
        for (var i = 0; i < messages.Count; i += 2)
        {
            Assert.Equal("user", messages[i].Role);
            Assert.Equal("assistant", messages[i + 1].Role);
            Assert.Equal(messages[i].Content, messages[i + 1].Content);
            Assert.All(messages.Skip(i).Take(2), m => Assert.Equal("completed", m.Status));
        }

        Assert.Equal(contents.Order(), messages.Where(m => m.Role == "user").Select(m => m.Content).Order());
        Assert.Equal(turns.SelectMany(t => new[] { t.UserMessage.Id, t.AssistantMessage.Id }).Order(), messages.Select(m => m.Id).Order());
        Assert.Equal(4000 - 1600, await client.GetBalanceAsync());
        Assert.Equal(32, (await client.GetConversationAsync(conversation.Id)).MessageCount);
    }

    [Fact]
    public async Task ConversationsProceedInParallelWhileTurnsOfOneConversationWait()
    {
        // The bot holds every reply at its gate until the test opens it.
        var bot = new GatedChatClient("held ", "reply");
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var a = await client.CreateConversationAsync("A");
        var b = await client.CreateConversationAsync("B");

        using var firstA = await client.PostMessageStreamingAsync(a.Id, "first turn of A", Cancel);
        var eventsA = firstA.ReadEventsAsync(Cancel).GetAsyncEnumerator(Cancel);
        Assert.True(await eventsA.MoveNextAsync());
        Assert.Equal("user", eventsA.Current.Type);

        // A's first turn is held at the gate: A's second turn queues behind it, and B's turn starts anyway.
        var secondA = client.SendAsync(a.Id, "second turn of A");
        using var firstB = await client.PostMessageStreamingAsync(b.Id, "first turn of B", Cancel);
        var eventsB = firstB.ReadEventsAsync(Cancel).GetAsyncEnumerator(Cancel);
        Assert.True(await eventsB.MoveNextAsync());
        Assert.Equal("user", eventsB.Current.Type);
        Assert.Equal(1L, eventsB.Current.As<UserEventBody>().UserMessage.Sequence);
        Assert.False(secondA.IsCompleted, "A's second turn finished while A's first was held.");

        bot.ReleaseAll();
        var aEvents = await DrainAsync(eventsA);
        var bEvents = await DrainAsync(eventsB);
        var second = await secondA;
        await eventsA.DisposeAsync();
        await eventsB.DisposeAsync();

        Assert.Equal("assistant", aEvents[^1].Type);
        Assert.Equal("assistant", bEvents[^1].Type);
        Assert.Equal((3L, 4L), (second.UserMessage.Sequence, second.AssistantMessage.Sequence)); // after A's first turn
        Assert.Equal(bot.Reply, second.AssistantMessage.Content);
        Assert.Equal(["first turn of A", bot.Reply, "second turn of A", bot.Reply], (await client.GetAllMessagesAsync(a.Id)).Select(m => m.Content));
    }

    [Fact]
    public async Task AFullMailboxRejectsSendsWith429()
    {
        var bot = new GatedChatClient("held ", "reply");
        await using var factory = await Fixture.StartFactoryAsync(
            new Dictionary<string, string?> { ["Engine:MailboxCapacity"] = "1" }, configureServices: services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        using var running = await client.PostMessageStreamingAsync(conversation.Id, "the turn that is running", Cancel);
        var events = running.ReadEventsAsync(Cancel).GetAsyncEnumerator(Cancel);
        Assert.True(await events.MoveNextAsync()); // running now (held at the bot's gate); the mailbox is empty

        // While it is held, one more fits in the mailbox and the other three are turned away at once.
        var all = Enumerable.Range(1, 4).Select(i => client.PostMessageAsync(conversation.Id, $"queued {i}")).ToList();
        var pending = all.ToList();
        for (var answered = 0; answered < 3; answered++)
        {
            pending.Remove(await Task.WhenAny(pending));
        }

        bot.ReleaseAll();
        var rest = await DrainAsync(events);
        Assert.Equal("assistant", rest[^1].Type);
        await events.DisposeAsync();
        var sends = await Task.WhenAll(all);
        var accepted = sends.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        var rejected = sends.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Single(accepted);
        Assert.Equal(3, rejected.Count);
        foreach (var response in rejected)
        {
            await response.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        }

        Assert.Equal(4, (await client.GetAllMessagesAsync(conversation.Id)).Count);
        Assert.Equal(3800, await client.GetBalanceAsync());
        Array.ForEach(sends, r => r.Dispose());
    }

    [Fact]
    public async Task ParallelSendsNeverOverspendTheBalance()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversations = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            conversations.Add((await client.CreateConversationAsync($"race {i}")).Id);
        }

        // 60 sends of 100 tokens on a balance of 4,000: exactly 40 can be paid for.
        var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => client.PostMessageAsync(conversations[i % 4], $"race message {i}")));

        var statuses = responses.GroupBy(r => r.StatusCode).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(statuses.GetValueOrDefault(HttpStatusCode.OK) == 40 && statuses.GetValueOrDefault(HttpStatusCode.PaymentRequired) == 20,
            string.Join(", ", statuses.Select(s => $"{(int)s.Key}×{s.Value}")));
        foreach (var response in responses.Where(r => r.StatusCode == HttpStatusCode.PaymentRequired))
        {
            Assert.Equal(0, (await response.AssertProblemAsync(HttpStatusCode.PaymentRequired)).TokenBalance);
        }

        Assert.Equal(0, await client.GetBalanceAsync());
        var stored = 0;
        foreach (var id in conversations)
        {
            var messages = await client.GetAllMessagesAsync(id);
            Assert.Equal(Enumerable.Range(1, messages.Count).Select(n => (long)n), messages.Select(m => m.Sequence));
            Assert.All(messages, m => Assert.Equal(m.Sequence % 2 == 1 ? "user" : "assistant", m.Role));
            stored += messages.Count;
        }

        Assert.Equal(80, stored);
        Array.ForEach(responses, r => r.Dispose());
    }

    [Fact]
    public async Task AFailedBotTurnIsStoredAsFailedAndRefunded()
    {
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton<IChatClient>(new FailingChatClient()));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageAsync(conversation.Id, "doomed");

        // A JSON turn is committed once, after the bot: a failed one stores nothing and charges nothing.
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadGateway);
        Assert.Null(problem.TokenBalance);
        Assert.Equal(4000, await client.GetBalanceAsync());
        Assert.Empty(await client.GetAllMessagesAsync(conversation.Id));
    }

    [Fact]
    public async Task AFailedBotTurnStreamsAnErrorEventAfterTheUserEvent()
    {
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton<IChatClient>(new FailingChatClient()));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageStreamingAsync(conversation.Id, "doomed", Cancel);
        var events = await response.ReadAllEventsAsync();

        Assert.Equal("user", events[0].Type);
        Assert.Equal(3900, events[0].As<UserEventBody>().TokenBalance);
        Assert.Equal("error", events[^1].Type);
        var error = events[^1].Data.Deserialize<ProblemBody>(Json.Lenient)!;
        Assert.Equal((502, 4000L), (error.Status, error.TokenBalance));
        Assert.All(events[1..^1], e => Assert.Equal("delta", e.Type));
        Assert.Equal(4000, await client.GetBalanceAsync());
        Assert.All(await client.GetAllMessagesAsync(conversation.Id), m => Assert.Equal("failed", m.Status));
    }

    [Fact]
    public async Task ABotThatTimesOutFailsTheTurnAndRefundsIt()
    {
        var bot = new GatedChatClient("never ", "released"); // the gate stays shut: the bot never answers
        await using var factory = await Fixture.StartFactoryAsync(
            new Dictionary<string, string?> { ["Engine:TurnTimeout"] = "00:00:01" }, configureServices: services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageAsync(conversation.Id, "too slow to answer");
        using var streaming = await client.PostMessageStreamingAsync(conversation.Id, "too slow to stream", Cancel);
        var events = await streaming.ReadAllEventsAsync();

        await response.AssertProblemAsync(HttpStatusCode.GatewayTimeout);
        Assert.Equal(("user", "error"), (events[0].Type, events[^1].Type));
        Assert.Equal(504, events[^1].Data.Deserialize<ProblemBody>(Json.Lenient)!.Status);
        Assert.Equal(4000, await client.GetBalanceAsync());
        var messages = await client.GetAllMessagesAsync(conversation.Id);
        Assert.All(messages, m => Assert.Equal("failed", m.Status));
        Assert.Equal("too slow to stream", messages[^2].Content); // the streamed turn's message was stored before the bot ran
    }

    [Fact]
    public async Task AnUnreachableDatabaseReturns503AndChargesNothing()
    {
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton<DbDataSource>(new UnreachableDataSource()));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var json = await client.PostMessageAsync(conversation.Id, "lost?");
        using var streaming = await client.PostMessageStreamingAsync(conversation.Id, "lost?", Cancel);
        using var chat = await client.PostAsJsonAsync("/api/chat", new { message = "lost?" }, Cancel);

        await json.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        await streaming.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        await chat.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(4000, await client.GetBalanceAsync());
        Assert.Empty(await client.GetAllMessagesAsync(conversation.Id));
        Assert.Equal([conversation.Id], (await client.ListConversationsAsync()).Items.Select(c => c.Id)); // chat left no empty conversation
    }

    [Fact]
    public async Task AClientThatLeavesMidStreamDoesNotStopTheTurn()
    {
        var bot = new GatedChatClient("aaaa ", "bbbb ", "cccc ", "dddd");
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        using var leaving = new CancellationTokenSource();

        var response = await client.PostMessageStreamingAsync(conversation.Id, "count", leaving.Token);
        var events = response.ReadEventsAsync(leaving.Token).GetAsyncEnumerator(leaving.Token);
        Assert.True(await events.MoveNextAsync());
        bot.Release(1);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("delta", events.Current.Type);
        await leaving.CancelAsync();
        response.Dispose();
        bot.ReleaseAll();

        // Turns of a conversation run in order: once the next one is answered, the first has ended.
        await client.SendAsync(conversation.Id, "next");
        var messages = await client.GetAllMessagesAsync(conversation.Id);
        Assert.Equal([("completed", "count"), ("completed", bot.Reply)], messages.Take(2).Select(m => (m.Status, m.Content)));
        Assert.Equal(3800, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task WithoutContinueOnDisconnectAClientThatLeavesMidStreamKeepsThePartialReplyAsCancelled()
    {
        var bot = new GatedChatClient("aaaa ", "bbbb ", "cccc ", "dddd");
        await using var factory = await Fixture.StartFactoryAsync(
            new Dictionary<string, string?> { ["Engine:ContinueOnDisconnect"] = "false" }, configureServices: services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        using var leaving = new CancellationTokenSource();

        var response = await client.PostMessageStreamingAsync(conversation.Id, "count", leaving.Token);
        var events = response.ReadEventsAsync(leaving.Token).GetAsyncEnumerator(leaving.Token);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("user", events.Current.Type);
        bot.Release(1);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("delta", events.Current.Type);
        await leaving.CancelAsync();
        response.Dispose();

        // Turns of a conversation run in order: once the bot is asked for the next reply, the abandoned turn has ended.
        var next = client.SendAsync(conversation.Id, "next");
        await bot.ReplyStarted(2).WaitAsync(Cancel);
        bot.ReleaseAll();
        await next;
        var messages = await client.GetAllMessagesAsync(conversation.Id);
        Assert.Equal([("user", "cancelled", "count"), ("assistant", "cancelled", "aaaa ")], messages.Take(2).Select(m => (m.Role, m.Status, m.Content)));
        Assert.Equal(3800, await client.GetBalanceAsync()); // a cancelled turn is charged: the bot ran
    }


    private static async Task<List<SseEvent>> DrainAsync(IAsyncEnumerator<SseEvent> events)
    {
        var all = new List<SseEvent>();
        while (await events.MoveNextAsync())
        {
            all.Add(events.Current);
        }

        return all;
    }

}

public sealed class EngineOnSqlite(SqliteFixture fixture) : EngineTests<SqliteFixture>(fixture);

public sealed class EngineOnPostgreSql(PostgreSqlFixture fixture) : EngineTests<PostgreSqlFixture>(fixture);
