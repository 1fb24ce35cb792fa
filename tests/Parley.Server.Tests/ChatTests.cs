using System.Net;
using System.Net.Http.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>The one-call <c>POST /api/chat</c> endpoint.</summary>
public abstract class ChatTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task ChattingWithoutAConversationStartsOne()
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostAsJsonAsync("/api/chat", new { message = "Hi there" }, Cancel);

        var chat = await response.ReadAsync<ChatBody>();
        Api.AssertEchoTurn(new TurnBody(chat.UserMessage, chat.AssistantMessage, chat.TokenBalance), "Hi there");
        Assert.Equal(3900, chat.TokenBalance);
        var conversation = await client.GetConversationAsync(chat.ConversationId);
        Assert.Equal(("Hi there", 2L), (conversation.Title, conversation.MessageCount));
        Assert.Equal([chat.UserMessage, chat.AssistantMessage], await client.GetAllMessagesAsync(chat.ConversationId));
    }

    [Fact]
    public async Task ChattingInAConversationContinuesIt()
    {
        var client = await Factory.CreateUserClientAsync();
        using var first = await client.PostAsJsonAsync("/api/chat", new { message = "one" }, Cancel);
        var started = await first.ReadAsync<ChatBody>();

        using var second = await client.PostAsJsonAsync("/api/chat", new { message = "two", conversationId = started.ConversationId }, Cancel);

        var continued = await second.ReadAsync<ChatBody>();
        Assert.Equal(started.ConversationId, continued.ConversationId);
        Assert.Equal((3L, 4L), (continued.UserMessage.Sequence, continued.AssistantMessage.Sequence));
        Assert.Equal(3800, continued.TokenBalance);
        Assert.Single((await client.ListConversationsAsync()).Items);
    }

    [Theory]
    [InlineData("""{"message":""}""")]
    [InlineData("""{"message":"   "}""")]
    [InlineData("""{}""")]
    public async Task AnEmptyMessageIsRejectedWithoutCreatingAConversation(string body)
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostRawAsync("/api/chat", body);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "message");
        Assert.Empty((await client.ListConversationsAsync()).Items);
        Assert.Equal(4000, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task ATooLongMessageIsRejectedWithoutLeavingAConversation()
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostAsJsonAsync("/api/chat", new { message = new string('m', 32_001) }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "message");
        Assert.Empty((await client.ListConversationsAsync()).Items);
        Assert.Equal(4000, await client.GetBalanceAsync());
    }

    [Theory]
    [InlineData("""{"message":""", "")]
    [InlineData("""{"message": 42}""", "message")]
    [InlineData("""{"message": "hi", "conversationId": "not-a-guid"}""", "conversationId")]
    [InlineData("", "")]
    public async Task MalformedChatBodiesAreProblems(string body, string field)
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostRawAsync("/api/chat", body);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, field.Length == 0 ? null : field);
        Assert.Empty((await client.ListConversationsAsync()).Items);
        Assert.Equal(4000, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task AnUnknownConversationIsNotFound()
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostAsJsonAsync("/api/chat", new { message = "hello", conversationId = Guid.NewGuid() }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(4000, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task OutOfTokensReturns402AndCreatesNoConversation()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?> { ["Quota:InitialBalance"] = "100" });
        var client = await factory.CreateUserClientAsync();
        using var spent = await client.PostAsJsonAsync("/api/chat", new { message = "the last one" }, Cancel);
        var first = await spent.ReadAsync<ChatBody>();

        using var fresh = await client.PostAsJsonAsync("/api/chat", new { message = "one more" }, Cancel);
        using var existing = await client.PostAsJsonAsync("/api/chat", new { message = "one more", conversationId = first.ConversationId }, Cancel);

        Assert.Equal(0, (await fresh.AssertProblemAsync(HttpStatusCode.PaymentRequired)).TokenBalance);
        Assert.Equal(0, (await existing.AssertProblemAsync(HttpStatusCode.PaymentRequired)).TokenBalance);
        Assert.Equal([first.ConversationId], (await client.ListConversationsAsync()).Items.Select(c => c.Id));
        Assert.Equal(2, (await client.GetAllMessagesAsync(first.ConversationId)).Count);
    }

    [Fact]
    public async Task ChattingRequiresAToken()
    {
        using var anonymous = Factory.CreateClient();

        using var response = await anonymous.PostAsJsonAsync("/api/chat", new { message = "hello" }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }
}

public sealed class ChatOnSqlite(SqliteFixture fixture) : ChatTests<SqliteFixture>(fixture);

public sealed class ChatOnPostgreSql(PostgreSqlFixture fixture) : ChatTests<PostgreSqlFixture>(fixture);
