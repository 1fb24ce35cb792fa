using System.Net;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// A turn belongs to its conversation, not to the request that sent it: it goes on when the client leaves, and
/// <c>GET /api/conversations/{id}/stream</c> replays it after <c>Last-Event-ID</c> and follows it to the end.
/// </summary>
public abstract class ResumeTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    private static readonly string[] Chunks = ["one ", "two ", "three ", "four ", "five ", "six"];

    [Fact]
    public async Task AClientThatLeavesAfterTheThirdDeltaResumesWithExactlyTheRestOfTheReply()
    {
        var bot = new GatedChatClient(Chunks);
        await using var factory = await StartAsync(bot);
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        using var leaving = new CancellationTokenSource();

        var response = await client.PostMessageStreamingAsync(conversation.Id, "count", leaving.Token);
        var events = response.ReadEventsAsync(leaving.Token).GetAsyncEnumerator(leaving.Token);
        Assert.True(await events.MoveNextAsync());
        var user = events.Current;
        Assert.Equal(("user", "1.0"), (user.Type, user.Id));
        var running = await client.GetConversationAsync(conversation.Id);
        Assert.Equal(user.As<UserEventBody>().UserMessage.Id, running.ActiveTurn?.UserMessageId);

        bot.Release(3);
        var seen = new List<SseEvent>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await events.MoveNextAsync());
            seen.Add(events.Current);
        }

        Assert.Equal(["1.4", "1.8", "1.14"], seen.Select(e => e.Id));
        await leaving.CancelAsync();
        await events.DisposeAsync();
        response.Dispose();

        using var resumed = await client.FollowTurnAsync(conversation.Id, seen[^1].Id, Cancel);
        bot.ReleaseAll();
        var rest = await resumed.ReadAllEventsAsync();

        Assert.Equal([.. Enumerable.Repeat("delta", 3), "assistant"], rest.Select(e => e.Type));
        var ids = seen.Concat(rest).Select(e => e.Id!).ToList();
        Assert.Equal(ids.Order(EventIdOrder.Instance), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        var text = string.Concat(seen.Concat(rest).Where(e => e.Type == "delta").Select(e => e.As<DeltaEventBody>().Text));
        var stored = rest[^1].As<AssistantEventBody>().AssistantMessage;
        Assert.Equal((bot.Reply, bot.Reply, "completed"), (text, stored.Content, stored.Status));
        Assert.Equal(stored, (await client.GetAllMessagesAsync(conversation.Id))[1]);
        Assert.Null((await client.GetConversationAsync(conversation.Id)).ActiveTurn);
        Assert.Equal(3900, await client.GetBalanceAsync()); // charged once; the turn completed
    }

    [Fact]
    public async Task TwoFollowersEachGetTheWholeTurnFromItsStart()
    {
        var bot = new GatedChatClient(Chunks);
        await using var factory = await StartAsync(bot);
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var sender = await client.PostMessageStreamingAsync(conversation.Id, "count", Cancel);
        var sent = sender.ReadEventsAsync(Cancel).GetAsyncEnumerator(Cancel);
        Assert.True(await sent.MoveNextAsync());
        bot.Release(2);
        Assert.True(await sent.MoveNextAsync());
        Assert.True(await sent.MoveNextAsync()); // two deltas streamed before the followers attach
        using var first = await client.FollowTurnAsync(conversation.Id, null, Cancel);
        using var second = await client.FollowTurnAsync(conversation.Id, null, Cancel);
        bot.ReleaseAll();

        var followed = await Task.WhenAll(first.ReadAllEventsAsync(), second.ReadAllEventsAsync());
        var original = new List<SseEvent>();
        while (await sent.MoveNextAsync())
        {
            original.Add(sent.Current);
        }

        await sent.DisposeAsync();
        foreach (var events in followed)
        {
            Assert.Equal("user", events[0].Type);
            Assert.Equal("assistant", events[^1].Type);
            Assert.Equal(bot.Reply, string.Concat(events.Where(e => e.Type == "delta").Select(e => e.As<DeltaEventBody>().Text)));
            Assert.Equal(original[^1].Id, events[^1].Id);
            Assert.Equal(original[^1].As<AssistantEventBody>(), events[^1].As<AssistantEventBody>());
        }
    }

    [Fact]
    public async Task FollowingAfterTheTurnEndedAnswers204AndTheReplyIsInTheHistory()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        using var streamed = await client.PostMessageStreamingAsync(conversation.Id, "hello there", Cancel);
        var events = await streamed.ReadAllEventsAsync();

        using var late = await client.FollowTurnAsync(conversation.Id, events[^2].Id, Cancel);
        using var fresh = await client.FollowTurnAsync(conversation.Id, null, Cancel);

        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.NoContent), (late.StatusCode, fresh.StatusCode));
        var messages = await client.GetAllMessagesAsync(conversation.Id);
        Assert.Equal(events[^1].As<AssistantEventBody>().AssistantMessage, messages[1]);
        Assert.Null((await client.GetConversationAsync(conversation.Id)).ActiveTurn);
    }

    [Fact]
    public async Task AnotherUsersConversationCannotBeFollowedAndTheRequestMustAcceptAnEventStream()
    {
        var owner = await Factory.CreateUserClientAsync();
        var stranger = await Factory.CreateUserClientAsync();
        var conversation = await owner.CreateConversationAsync();

        using var foreign = await stranger.FollowTurnAsync(conversation.Id, null, Cancel);
        using var json = await owner.GetAsync($"/api/conversations/{conversation.Id}/stream", Cancel);
        using var badId = await owner.FollowTurnAsync(conversation.Id, "not-an-id", Cancel);

        await foreign.AssertProblemAsync(HttpStatusCode.NotFound);
        await json.AssertProblemAsync(HttpStatusCode.NotAcceptable);
        await badId.AssertProblemAsync(HttpStatusCode.BadRequest, "Last-Event-ID");
    }

    private Task<ParleyFactory> StartAsync(IChatClient bot) =>
        Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton(bot));

    /// <summary>Orders event ids <c>{sequence}.{n}</c> numerically.</summary>
    private sealed class EventIdOrder : IComparer<string>
    {
        public static readonly EventIdOrder Instance = new();

        public int Compare(string? x, string? y) => Key(x!).CompareTo(Key(y!));

        private static (long, long) Key(string id) => (long.Parse(id.Split('.')[0]), long.Parse(id.Split('.')[1]));
    }
}

public sealed class ResumeOnSqlite(SqliteFixture fixture) : ResumeTests<SqliteFixture>(fixture);

public sealed class ResumeOnPostgreSql(PostgreSqlFixture fixture) : ResumeTests<PostgreSqlFixture>(fixture);
