using System.Net;
using System.Net.Http.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Sending messages as JSON and as an event stream, input validation, idempotency and the token balance.</summary>
public abstract class MessagesTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task SendingAMessageStoresTheTurnAndChargesForIt()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        var turn = await client.SendAsync(conversation.Id, "Hello, Parley!");

        Api.AssertEchoTurn(turn, "Hello, Parley!");
        Assert.Equal((1L, 2L), (turn.UserMessage.Sequence, turn.AssistantMessage.Sequence));
        Assert.Equal(conversation.Id, turn.UserMessage.ConversationId);
        Assert.Equal(3900, turn.TokenBalance);
        Assert.Equal(3900, await client.GetBalanceAsync());
        Assert.Equal([turn.UserMessage, turn.AssistantMessage], await client.GetAllMessagesAsync(conversation.Id));
        Assert.Equal(2, (await client.GetConversationAsync(conversation.Id)).MessageCount);
    }

    [Fact]
    public async Task TurnsContinueTheSequence()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        for (var i = 1; i <= 3; i++)
        {
            var turn = await client.SendAsync(conversation.Id, $"turn {i}");
            Assert.Equal(2L * i - 1, turn.UserMessage.Sequence);
            Assert.Equal(4000 - (100 * i), turn.TokenBalance);
        }
    }

    [Fact]
    public async Task UnicodeContentRoundTrips()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        const string content = "Grüße 👋🏽 — 你好, \"quotes\" & <tags>\nnew line\ttab";

        var turn = await client.SendAsync(conversation.Id, content);

        Api.AssertEchoTurn(turn, content);
        Assert.Equal(content, (await client.GetAllMessagesAsync(conversation.Id))[1].Content);
    }

    [Fact]
    public async Task AMessageOfExactlyTheMaximumLengthIsAccepted()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var content = new string('a', 32_000);

        var turn = await client.SendAsync(conversation.Id, content);

        Api.AssertEchoTurn(turn, content);
    }

    [Fact]
    public async Task StreamingASendYieldsUserThenDeltasThenAssistant()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        const string content = "Stream me in a few chunks, please.";

        using var response = await client.PostMessageStreamingAsync(conversation.Id, content, Cancel);

        Assert.True(response.Headers.CacheControl?.NoCache, "An event stream is not cached.");
        var events = await response.ReadAllEventsAsync();
        Assert.Equal("user", events[0].Type);
        Assert.Equal("assistant", events[^1].Type);
        var deltas = events[1..^1];
        Assert.All(deltas, e => Assert.Equal("delta", e.Type));
        Assert.InRange(deltas.Count, 2, Parley.Engine.EchoChatClient.MaxChunks); // word by word
        Assert.Equal(content, string.Concat(deltas.Select(d => d.As<DeltaEventBody>().Text)));

        var user = events[0].As<UserEventBody>();
        Assert.Equal(("user", content, "pending", 1L, 3900L), (user.UserMessage.Role, user.UserMessage.Content, user.UserMessage.Status, user.UserMessage.Sequence, user.TokenBalance));
        var assistant = events[^1].As<AssistantEventBody>();
        Assert.Equal(("assistant", content, "completed", 2L, 3900L), (assistant.AssistantMessage.Role, assistant.AssistantMessage.Content, assistant.AssistantMessage.Status, assistant.AssistantMessage.Sequence, assistant.TokenBalance));

        var stored = await client.GetAllMessagesAsync(conversation.Id);
        Assert.Equal([user.UserMessage.Id, assistant.AssistantMessage.Id], stored.Select(m => m.Id));
        Assert.All(stored, m => Assert.Equal("completed", m.Status));
    }

    [Fact]
    public async Task StreamingErrorsBeforeTheMessageIsStoredArePlainProblems()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var empty = await client.PostMessageStreamingAsync(conversation.Id, "  ", Cancel);
        await empty.AssertProblemAsync(HttpStatusCode.BadRequest, "content");
        using var unknown = await client.PostMessageStreamingAsync(Guid.NewGuid(), "hello", Cancel);
        await unknown.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Empty(await client.GetAllMessagesAsync(conversation.Id));
        Assert.Equal(4000, await client.GetBalanceAsync());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData(" ", "a space")]
    [InlineData(" \t\r\n ", "whitespace")]
    [InlineData(null, "missing")]
    public async Task EmptyContentIsRejectedAndNothingIsStored(string? content, string why)
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostAsJsonAsync($"/api/conversations/{conversation.Id}/messages", new { content }, Cancel);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "content");
        Assert.False(string.IsNullOrWhiteSpace(problem.Errors!["content"][0]), why);
        await AssertNothingStoredAsync(client, conversation.Id);
    }

    [Fact]
    public async Task ContentLongerThanTheMaximumIsRejectedAndNothingIsStored()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageAsync(conversation.Id, new string('a', 32_001));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "content");
        await AssertNothingStoredAsync(client, conversation.Id);
    }

    [Theory]
    [InlineData("""{"content":""", "malformed JSON")]
    [InlineData("""{"content": "a" "b"}""", "malformed JSON")]
    [InlineData("""not json at all""", "not JSON")]
    [InlineData("""{"content": 123}""", "a number for a string")]
    [InlineData("""{"content": ["a"]}""", "an array for a string")]
    [InlineData("""{"content": {"text": "a"}}""", "an object for a string")]
    [InlineData("""{"content": "a", "clientMessageId": 5}""", "a number for a string")]
    [InlineData("""[]""", "an array for the body")]
    [InlineData("""null""", "null for the body")]
    [InlineData("", "no body")]
    public async Task MalformedBodiesAreProblemsAndNothingIsStored(string body, string why)
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostRawAsync($"/api/conversations/{conversation.Id}/messages", body);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.Errors is { Count: > 0 }, $"{why}: the problem names the offending field");
        await AssertNothingStoredAsync(client, conversation.Id);
    }

    [Fact]
    public async Task AWrongTypeIsReportedOnItsField()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostRawAsync($"/api/conversations/{conversation.Id}/messages", """{"content": 123}""");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "content");
    }

    [Fact]
    public async Task ANonJsonContentTypeIsRejectedAndNothingIsStored()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostRawAsync($"/api/conversations/{conversation.Id}/messages", "content=hello", "application/x-www-form-urlencoded");

        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        await AssertNothingStoredAsync(client, conversation.Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")] // 101
    public async Task BadClientMessageIdsAreRejected(string clientMessageId)
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageAsync(conversation.Id, "hello", clientMessageId);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "clientMessageId");
        await AssertNothingStoredAsync(client, conversation.Id);
    }

    [Fact]
    public async Task RepeatingAClientMessageIdReturnsTheSameTurnAndChargesOnce()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        var first = await client.SendAsync(conversation.Id, "only once", "key-1");
        var second = await client.SendAsync(conversation.Id, "only once", "key-1");

        Assert.Equal(first.UserMessage, second.UserMessage);
        Assert.Equal(first.AssistantMessage, second.AssistantMessage);
        Assert.Equal(3900, second.TokenBalance);
        Assert.Equal(3900, await client.GetBalanceAsync());
        Assert.Equal(2, (await client.GetAllMessagesAsync(conversation.Id)).Count);
    }

    [Fact]
    public async Task ARepeatedClientMessageIdStreamsTheStoredTurn()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var first = await client.SendAsync(conversation.Id, "replay me", "key-sse");

        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/conversations/{conversation.Id}/messages")
        {
            Content = JsonContent.Create(new { content = "replay me", clientMessageId = "key-sse" }),
        };
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancel);
        var events = await response.ReadAllEventsAsync();

        Assert.Equal("user", events[0].Type);
        Assert.Equal("assistant", events[^1].Type);
        Assert.Equal(first.UserMessage.Id, events[0].As<UserEventBody>().UserMessage.Id);
        Assert.Equal(first.AssistantMessage, events[^1].As<AssistantEventBody>().AssistantMessage);
        Assert.Equal(3900, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task ConcurrentSendsWithOneClientMessageIdMakeOneTurn()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        var turns = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => client.SendAsync(conversation.Id, "at most once", "key-2")));

        Assert.Single(turns.Select(t => t.UserMessage.Id).Distinct());
        Assert.Single(turns.Select(t => t.AssistantMessage.Id).Distinct());
        Assert.Equal(3900, await client.GetBalanceAsync());
        Assert.Equal(2, (await client.GetAllMessagesAsync(conversation.Id)).Count);
    }

    [Fact]
    public async Task AClientMessageIdReusedForOtherContentIsAConflict()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var original = await client.SendAsync(conversation.Id, "original", "key-3");

        using var response = await client.PostMessageAsync(conversation.Id, "something else", "key-3");

        await response.AssertProblemAsync(HttpStatusCode.Conflict, "clientMessageId");
        Assert.Equal([original.UserMessage, original.AssistantMessage], await client.GetAllMessagesAsync(conversation.Id));
        Assert.Equal(3900, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task ClientMessageIdsAreScopedToTheirConversation()
    {
        var client = await Factory.CreateUserClientAsync();
        var first = await client.CreateConversationAsync();
        var second = await client.CreateConversationAsync();

        var a = await client.SendAsync(first.Id, "same words", "key-4");
        var b = await client.SendAsync(second.Id, "same words", "key-4");

        Assert.NotEqual(a.UserMessage.Id, b.UserMessage.Id);
        Assert.Equal(3800, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task RunningOutOfTokensReturns402WithTheBalance()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?> { ["Quota:InitialBalance"] = "250" });
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        await client.SendAsync(conversation.Id, "one");
        await client.SendAsync(conversation.Id, "two");

        using var response = await client.PostMessageAsync(conversation.Id, "three");

        var problem = await response.AssertProblemAsync(HttpStatusCode.PaymentRequired);
        Assert.Equal(50, problem.TokenBalance);
        Assert.Equal(4, (await client.GetAllMessagesAsync(conversation.Id)).Count);
        Assert.Equal(50, await client.GetBalanceAsync());

        using var streaming = await client.PostMessageStreamingAsync(conversation.Id, "three", Cancel);
        Assert.Equal(50, (await streaming.AssertProblemAsync(HttpStatusCode.PaymentRequired)).TokenBalance);
    }

    [Fact]
    public async Task AFreeQuotaChargesNothing()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?>
        {
            ["Quota:InitialBalance"] = "0",
            ["Quota:CostPerMessage"] = "0",
        });
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        var turn = await client.SendAsync(conversation.Id, "free");

        Assert.Equal(0, turn.TokenBalance);
        using var response = await client.GetAsync("/api/users/me/balance", Cancel);
        Assert.Equal(new BalanceBody(0, 0), await response.ReadAsync<BalanceBody>());
    }

    [Fact]
    public async Task SendingRequiresAToken()
    {
        var owner = await Factory.CreateUserClientAsync();
        var conversation = await owner.CreateConversationAsync();
        using var anonymous = Factory.CreateClient();

        using var response = await anonymous.PostMessageAsync(conversation.Id, "hello");

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Empty(await owner.GetAllMessagesAsync(conversation.Id));
    }

    private static async Task AssertNothingStoredAsync(HttpClient client, Guid conversationId)
    {
        Assert.Empty(await client.GetAllMessagesAsync(conversationId));
        Assert.Equal(0, (await client.GetConversationAsync(conversationId)).MessageCount);
        Assert.Equal(4000, await client.GetBalanceAsync());
    }
}

public sealed class MessagesOnSqlite(SqliteFixture fixture) : MessagesTests<SqliteFixture>(fixture);

public sealed class MessagesOnPostgreSql(PostgreSqlFixture fixture) : MessagesTests<PostgreSqlFixture>(fixture);
