using System.Net;
using System.Net.Http.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Conversation CRUD, listing by activity with cursors, message paging, and isolation between users.</summary>
public abstract class ConversationsTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task CreatingAConversationReturnsItWithItsLocation()
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostAsJsonAsync("/api/conversations", new { title = "  Trip plans  " }, Cancel);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var conversation = await response.ReadAsync<ConversationBody>();
        Assert.Equal($"/api/conversations/{conversation.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal("Trip plans", conversation.Title);
        Assert.Equal(0, conversation.MessageCount);
        Assert.Equal(conversation, await client.GetConversationAsync(conversation.Id));
    }

    [Fact]
    public async Task ConversationsWithoutATitleGetTheDefaultUntilTheFirstMessageNamesThem()
    {
        var client = await Factory.CreateUserClientAsync();
        using var noBody = await client.PostAsync("/api/conversations", content: null, Cancel);
        var untitled = await noBody.ReadAsync<ConversationBody>();
        var blank = await client.CreateConversationAsync("   ");

        Assert.Equal("New conversation", untitled.Title);
        Assert.Equal("New conversation", blank.Title);

        await client.SendAsync(untitled.Id, "  What is the capital of France?\nAnd of Spain?");
        Assert.Equal("What is the capital of France?", (await client.GetConversationAsync(untitled.Id)).Title);

        var longest = new string('w', 100);
        await client.SendAsync(blank.Id, longest);
        var title = (await client.GetConversationAsync(blank.Id)).Title;
        Assert.Equal(60, title.Length);
        Assert.EndsWith("...", title, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGivenTitleIsNotReplacedByTheFirstMessage()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("Mine");

        await client.SendAsync(conversation.Id, "Something else");

        Assert.Equal("Mine", (await client.GetConversationAsync(conversation.Id)).Title);
    }

    [Fact]
    public async Task TitlesLongerThan200CharactersAreRejected()
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostAsJsonAsync("/api/conversations", new { title = new string('t', 201) }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "title");
        Assert.Empty((await client.ListConversationsAsync()).Items);
        using var longest = await client.PostAsJsonAsync("/api/conversations", new { title = new string('t', 200) }, Cancel);
        Assert.Equal(HttpStatusCode.Created, longest.StatusCode);
    }

    [Fact]
    public async Task RenamingChangesTheTitle()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("Before");

        using var response = await client.PatchAsJsonAsync($"/api/conversations/{conversation.Id}", new { title = "After" }, Cancel);

        var renamed = await response.ReadAsync<ConversationBody>();
        Assert.Equal((conversation.Id, "After"), (renamed.Id, renamed.Title));
        Assert.Equal("After", (await client.GetConversationAsync(conversation.Id)).Title);
    }

    [Theory]
    [InlineData("""{"title":""}""")]
    [InlineData("""{"title":"   "}""")]
    [InlineData("""{}""")]
    public async Task RenamingToNothingIsRejected(string body)
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("Kept");

        using var response = await client.PatchAsync($"/api/conversations/{conversation.Id}", Content(body), Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "title");
        Assert.Equal("Kept", (await client.GetConversationAsync(conversation.Id)).Title);
    }

    [Fact]
    public async Task RenamingToMoreThan200CharactersIsRejected()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("Kept");

        using var response = await client.PatchAsJsonAsync($"/api/conversations/{conversation.Id}", new { title = new string('x', 201) }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "title");
        Assert.Equal("Kept", (await client.GetConversationAsync(conversation.Id)).Title);
    }

    [Fact]
    public async Task ListingOrdersByLatestActivity()
    {
        var client = await Factory.CreateUserClientAsync();
        var first = await client.CreateConversationAsync("first");
        var second = await client.CreateConversationAsync("second");
        var third = await client.CreateConversationAsync("third");

        Assert.Equal([third.Id, second.Id, first.Id], (await client.ListConversationsAsync()).Items.Select(c => c.Id));

        await client.SendAsync(first.Id, "bump");

        var listed = (await client.ListConversationsAsync()).Items;
        Assert.Equal([first.Id, third.Id, second.Id], listed.Select(c => c.Id));
        Assert.Equal(2, listed[0].MessageCount);
        Assert.True(listed[0].UpdatedAt > listed[0].CreatedAt);
    }

    [Fact]
    public async Task PagingThroughConversationsVisitsEachExactlyOnce()
    {
        var client = await Factory.CreateUserClientAsync();
        var created = new List<Guid>();
        for (var i = 0; i < 7; i++)
        {
            created.Add((await client.CreateConversationAsync($"c{i}")).Id);
        }

        await client.SendAsync(created[2], "move c2 to the front");
        var all = (await client.ListConversationsAsync(limit: 100)).Items.Select(c => c.Id).ToList();

        var pages = new List<IReadOnlyList<ConversationBody>>();
        string? cursor = null;
        do
        {
            var page = await client.ListConversationsAsync(limit: 3, cursor: cursor);
            pages.Add(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null && pages.Count < 10);

        Assert.Equal([3, 3, 1], pages.Select(p => p.Count));
        var paged = pages.SelectMany(p => p).Select(c => c.Id).ToList();
        Assert.Equal(all, paged);
        Assert.Equal(7, paged.Distinct().Count());
        Assert.Equal(created[2], paged[0]);
        Assert.Equal(created.Where(id => id != created[2]).Reverse(), paged.Skip(1));
    }

    [Fact]
    public async Task AnExactPageHasNoEmptyPageAfterIt()
    {
        var client = await Factory.CreateUserClientAsync();
        for (var i = 0; i < 4; i++)
        {
            await client.CreateConversationAsync($"c{i}");
        }

        var first = await client.ListConversationsAsync(limit: 2);
        var second = await client.ListConversationsAsync(limit: 2, cursor: first.NextCursor);

        Assert.NotNull(first.NextCursor);
        Assert.Equal(2, second.Items.Count);
        Assert.Null(second.NextCursor);
    }

    [Fact]
    public async Task ListingShowsOnlyTheCallersConversations()
    {
        var alice = await Factory.CreateUserClientAsync();
        var bob = await Factory.CreateUserClientAsync();
        var mine = await alice.CreateConversationAsync("alice's");
        await bob.CreateConversationAsync("bob's");

        var listed = await alice.ListConversationsAsync();

        Assert.Equal([mine.Id], listed.Items.Select(c => c.Id));
        Assert.Null(listed.NextCursor);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("limit=-5", "limit")]
    [InlineData("cursor=not-a-cursor!", "cursor")]
    [InlineData("cursor=bm9wZQ", "cursor")] // base64url of "nope"
    [InlineData("cursor=MTIzOm5vdC1hLWd1aWQ", "cursor")] // "123:not-a-guid"
    public async Task BadListingParametersAreRejected(string query, string field)
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.GetAsync($"/api/conversations?{query}", Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task ANonNumericLimitIsRejected()
    {
        var client = await Factory.CreateUserClientAsync();

        using var conversations = await client.GetAsync("/api/conversations?limit=ten", Cancel);
        var conversation = await client.CreateConversationAsync();
        using var messages = await client.GetAsync($"/api/conversations/{conversation.Id}/messages?limit=ten", Cancel);

        await conversations.AssertProblemAsync(HttpStatusCode.BadRequest, "limit");
        await messages.AssertProblemAsync(HttpStatusCode.BadRequest, "limit");
    }

    [Fact]
    public async Task MessagesPageForwardFromTheStart()
    {
        var (client, conversation) = await ConversationWithTurnsAsync(5);

        var pages = await PagesAsync(client, conversation, "from=start&limit=4");

        Assert.Equal([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]], pages.Select(p => p.Select(m => m.Sequence).ToArray()));
    }

    [Fact]
    public async Task MessagesPageBackwardFromTheEndWithEachPageOldestFirst()
    {
        var (client, conversation) = await ConversationWithTurnsAsync(5);

        var pages = await PagesAsync(client, conversation, "from=end&limit=4");

        Assert.Equal([[7, 8, 9, 10], [3, 4, 5, 6], [1, 2]], pages.Select(p => p.Select(m => m.Sequence).ToArray()));
    }

    [Fact]
    public async Task MessagePagesOfAnExactSizeEndWithoutAnEmptyPage()
    {
        var (client, conversation) = await ConversationWithTurnsAsync(5);

        var forward = await PagesAsync(client, conversation, "limit=5");
        var backward = await PagesAsync(client, conversation, "from=end&limit=5");

        Assert.Equal([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], forward.Select(p => p.Select(m => m.Sequence).ToArray()));
        Assert.Equal([[6, 7, 8, 9, 10], [1, 2, 3, 4, 5]], backward.Select(p => p.Select(m => m.Sequence).ToArray()));
    }

    [Fact]
    public async Task MessagesListTheTurnsAsStored()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var turn = await client.SendAsync(conversation.Id, "one");

        using var response = await client.GetAsync($"/api/conversations/{conversation.Id}/messages", Cancel);

        var page = await response.ReadAsync<PageBody<MessageBody>>();
        Assert.Equal([turn.UserMessage, turn.AssistantMessage], page.Items);
        Assert.Null(page.NextCursor);
    }

    [Fact]
    public async Task AnEmptyConversationHasNoMessages()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        foreach (var from in new[] { "start", "end" })
        {
            using var response = await client.GetAsync($"/api/conversations/{conversation.Id}/messages?from={from}", Cancel);
            var page = await response.ReadAsync<PageBody<MessageBody>>();
            Assert.Empty(page.Items);
            Assert.Null(page.NextCursor);
        }
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=201", "limit")]
    [InlineData("from=middle", "from")]
    [InlineData("cursor=garbage!", "cursor")]
    [InlineData("cursor=YTp4", "cursor")] // "a:x"
    [InlineData("cursor=Yzo1", "cursor")] // "c:5"
    public async Task BadMessagePagingParametersAreRejected(string query, string field)
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.GetAsync($"/api/conversations/{conversation.Id}/messages?{query}", Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task DeletingRemovesTheConversationAndItsMessages()
    {
        var (client, conversation) = await ConversationWithTurnsAsync(2);
        var kept = await client.CreateConversationAsync("kept");
        await client.SendAsync(kept.Id, "stays");

        using var deleted = await client.DeleteAsync($"/api/conversations/{conversation}", Cancel);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var get = await client.GetAsync($"/api/conversations/{conversation}", Cancel);
        await get.AssertProblemAsync(HttpStatusCode.NotFound);
        using var messages = await client.GetAsync($"/api/conversations/{conversation}/messages", Cancel);
        await messages.AssertProblemAsync(HttpStatusCode.NotFound);
        using var send = await client.PostMessageAsync(conversation, "into the void");
        await send.AssertProblemAsync(HttpStatusCode.NotFound);
        using var again = await client.DeleteAsync($"/api/conversations/{conversation}", Cancel);
        await again.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal([kept.Id], (await client.ListConversationsAsync()).Items.Select(c => c.Id));
        Assert.Equal(2, (await client.GetAllMessagesAsync(kept.Id)).Count);

        // The rows are gone, not just hidden.
        var db = Factory.Database;
        Assert.Equal(0L, Convert.ToInt64(await db.ScalarAsync("SELECT COUNT(*) FROM \"Messages\" WHERE \"ConversationId\" = @p0", db.Id(conversation)), null));
        Assert.Equal(2L, Convert.ToInt64(await db.ScalarAsync("SELECT COUNT(*) FROM \"Messages\" WHERE \"ConversationId\" = @p0", db.Id(kept.Id)), null));
        Assert.Equal(3700, await client.GetBalanceAsync()); // three turns were paid for; deleting does not refund
    }

    [Fact]
    public async Task AnotherUsersConversationIsNotFoundOnEveryRoute()
    {
        var alice = await Factory.CreateUserClientAsync();
        var conversation = await alice.CreateConversationAsync("private");
        var turn = await alice.SendAsync(conversation.Id, "secret");
        var mallory = await Factory.CreateUserClientAsync();

        await AssertNotFoundEverywhereAsync(mallory, conversation.Id);

        var untouched = await alice.GetConversationAsync(conversation.Id);
        Assert.Equal(("private", 2L), (untouched.Title, untouched.MessageCount));
        Assert.Equal([turn.UserMessage, turn.AssistantMessage], await alice.GetAllMessagesAsync(conversation.Id));
        Assert.Equal(4000, await mallory.GetBalanceAsync());
        Assert.Equal(3900, await alice.GetBalanceAsync());
    }

    [Fact]
    public async Task AnUnknownConversationIsNotFoundOnEveryRoute()
    {
        var client = await Factory.CreateUserClientAsync();

        await AssertNotFoundEverywhereAsync(client, Guid.NewGuid());

        Assert.Equal(4000, await client.GetBalanceAsync());
    }

    [Theory]
    [InlineData("GET", "/api/conversations/not-a-guid")]
    [InlineData("PATCH", "/api/conversations/not-a-guid")]
    [InlineData("DELETE", "/api/conversations/not-a-guid")]
    [InlineData("GET", "/api/conversations/not-a-guid/messages")]
    [InlineData("POST", "/api/conversations/not-a-guid/messages")]
    [InlineData("GET", "/api/conversations/12345/messages")]
    public async Task ANonGuidIdIsANotFoundProblem(string method, string url)
    {
        var client = await Factory.CreateUserClientAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method is "PATCH" or "POST")
        {
            request.Content = Content("""{"title":"x","content":"x"}""");
        }

        using var response = await client.SendAsync(request, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(4000, await client.GetBalanceAsync());
    }

    private async Task AssertNotFoundEverywhereAsync(HttpClient client, Guid id)
    {
        var url = $"/api/conversations/{id}";
        using (var response = await client.GetAsync(url, Cancel))
        {
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var response = await client.PatchAsJsonAsync(url, new { title = "stolen" }, Cancel))
        {
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var response = await client.GetAsync(url + "/messages", Cancel))
        {
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var response = await client.GetAsync(url + "/messages?from=end", Cancel))
        {
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var response = await client.PostMessageAsync(id, "hello"))
        {
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var response = await client.PostMessageStreamingAsync(id, "hello", Cancel))
        {
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var response = await client.PostAsJsonAsync("/api/chat", new { message = "hello", conversationId = id }, Cancel))
        {
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var response = await client.DeleteAsync(url, Cancel))
        {
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }
    }

    private async Task<(HttpClient Client, Guid Conversation)> ConversationWithTurnsAsync(int turns)
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        for (var i = 1; i <= turns; i++)
        {
            await client.SendAsync(conversation.Id, $"message {i}");
        }

        return (client, conversation.Id);
    }

    private static async Task<List<IReadOnlyList<MessageBody>>> PagesAsync(HttpClient client, Guid conversation, string query)
    {
        var pages = new List<IReadOnlyList<MessageBody>>();
        var url = $"/api/conversations/{conversation}/messages?{query}";
        while (pages.Count < 20)
        {
            using var response = await client.GetAsync(url, Cancel);
            var page = await response.ReadAsync<PageBody<MessageBody>>();
            pages.Add(page.Items);
            if (page.NextCursor is null)
            {
                break;
            }

            // The cursor carries the direction; the limit is given again.
            var limit = query.Split('&').FirstOrDefault(p => p.StartsWith("limit=", StringComparison.Ordinal));
            url = $"/api/conversations/{conversation}/messages?cursor={Uri.EscapeDataString(page.NextCursor)}" + (limit is null ? "" : "&" + limit);
        }

        return pages;
    }

    private static StringContent Content(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}

public sealed class ConversationsOnSqlite(SqliteFixture fixture) : ConversationsTests<SqliteFixture>(fixture);

public sealed class ConversationsOnPostgreSql(PostgreSqlFixture fixture) : ConversationsTests<PostgreSqlFixture>(fixture);
