using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Issue 11: a conversation is a tree of messages — edit, regenerate, switch branch; pinned and archived conversations.</summary>
public abstract class BranchesTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task AnEditIsASiblingAndTheBotSeesOnlyItsBranch()
    {
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var first = await client.SendAsync(conversation.Id, "a");
        var second = await client.SendAsync(conversation.Id, "b");

        var edit = await SendAsync(client, conversation.Id, "b edited", parentId: first.AssistantMessage.Id);

        Assert.Equal(first.AssistantMessage.Id, edit.UserMessage.ParentId);
        Assert.Equal([("user", "a"), ("assistant", "reply 1"), ("user", "b edited")], bot.Requests[^1]);
        var branch = await GetMessagesAsync(client, conversation.Id);
        Assert.Equal(["a", "reply 1", "b edited", "reply 3"], branch.Select(m => m.Content));
        Assert.Equal([second.UserMessage.Id, edit.UserMessage.Id], branch[2].SiblingIds);
        Assert.Equal([branch[3].Id], branch[3].SiblingIds);
        Assert.Equal([null, branch[0].Id, branch[1].Id, branch[2].Id], branch.Select(m => m.ParentId));
        Assert.Equal(edit.AssistantMessage.Id, (await client.GetConversationAsync(conversation.Id)).CurrentMessageId);

        // The next send continues the edited branch.
        await client.SendAsync(conversation.Id, "c");
        Assert.Equal([("user", "a"), ("assistant", "reply 1"), ("user", "b edited"), ("assistant", "reply 3"), ("user", "c")], bot.Requests[^1]);
    }

    [Fact]
    public async Task EditingTheFirstMessageStartsANewRoot()
    {
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var first = await client.SendAsync(conversation.Id, "a");
        await client.SendAsync(conversation.Id, "b");

        var edit = await SendAsync(client, conversation.Id, "a edited", parentId: null, explicitParent: true);

        Assert.Null(edit.UserMessage.ParentId);
        Assert.Equal([("user", "a edited")], bot.Requests[^1]);
        var branch = await GetMessagesAsync(client, conversation.Id);
        Assert.Equal(["a edited", "reply 3"], branch.Select(m => m.Content));
        Assert.Equal([first.UserMessage.Id, edit.UserMessage.Id], branch[0].SiblingIds);
    }

    [Fact]
    public async Task RegenerateWritesASiblingFromTheSameContextAndChargesIt()
    {
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        await client.SendAsync(conversation.Id, "a");
        var second = await client.SendAsync(conversation.Id, "b");

        var regenerated = await RegenerateAsync(client, conversation.Id, second.AssistantMessage.Id);

        Assert.Equal(("reply 3", second.UserMessage.Id, 5L), (regenerated.AssistantMessage.Content, regenerated.AssistantMessage.ParentId, regenerated.AssistantMessage.Sequence));
        Assert.Equal(bot.Requests[1], bot.Requests[2]); // exactly the context of the reply it regenerates
        Assert.Equal([("user", "a"), ("assistant", "reply 1"), ("user", "b")], bot.Requests[2]);
        Assert.Equal(second.TokenBalance - 100, regenerated.TokenBalance);
        Assert.Equal(regenerated.TokenBalance, await client.GetBalanceAsync());
        var branch = await GetMessagesAsync(client, conversation.Id);
        Assert.Equal(["a", "reply 1", "b", "reply 3"], branch.Select(m => m.Content));
        Assert.Equal([second.AssistantMessage.Id, regenerated.AssistantMessage.Id], branch[3].SiblingIds);

        // Regenerating an older reply: its context ends at its own user message, never a later one.
        var older = await RegenerateAsync(client, conversation.Id, branch[1].Id);
        Assert.Equal([("user", "a")], bot.Requests[^1]);
        Assert.Equal(["a", older.AssistantMessage.Content], (await GetMessagesAsync(client, conversation.Id)).Select(m => m.Content));
    }

    [Fact]
    public async Task ARegenerateStreamsItsDeltasThenTheStoredReply()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var turn = await client.SendAsync(conversation.Id, "hello there");

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/conversations/{conversation.Id}/messages/{turn.AssistantMessage.Id}/regenerate");
        request.Headers.Accept.Add(new("text/event-stream"));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancel);
        var events = await response.ReadAllEventsAsync();

        Assert.Equal("assistant", events[^1].Type);
        Assert.All(events[..^1], e => Assert.Equal("delta", e.Type));
        var reply = events[^1].As<AssistantEventBody>().AssistantMessage;
        Assert.Equal(string.Concat(events[..^1].Select(e => e.As<DeltaEventBody>().Text)), reply.Content);
        Assert.Equal((turn.UserMessage.Id, 3L), (reply.ParentId, reply.Sequence));
    }

    [Fact]
    public async Task SwitchingBranchGoesToTheNewestLeafAndTheNextTurnContinuesIt()
    {
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var first = await client.SendAsync(conversation.Id, "a");
        var original = await client.SendAsync(conversation.Id, "b");
        await client.SendAsync(conversation.Id, "c");
        var edit = await SendAsync(client, conversation.Id, "b edited", parentId: first.AssistantMessage.Id);

        // Back to the original "b": the current message is the newest leaf below it.
        var switched = await SwitchAsync(client, conversation.Id, original.UserMessage.Id);
        Assert.Equal(["a", "reply 1", "b", "reply 2", "c", "reply 3"], (await GetMessagesAsync(client, conversation.Id)).Select(m => m.Content));
        Assert.Equal(switched.CurrentMessageId, (await GetMessagesAsync(client, conversation.Id))[^1].Id);
        await client.SendAsync(conversation.Id, "d");
        Assert.Equal(["a", "reply 1", "b", "reply 2", "c", "reply 3", "d"], bot.Requests[^1].Select(m => m.Text));

        // From the root, the most recently created children lead to the edit.
        await SwitchAsync(client, conversation.Id, first.UserMessage.Id);
        Assert.Equal(["a", "reply 1", "b edited", "reply 4"], (await GetMessagesAsync(client, conversation.Id)).Select(m => m.Content));
        Assert.Equal(edit.AssistantMessage.Id, (await client.GetConversationAsync(conversation.Id)).CurrentMessageId);

        // The tree view lists every message, by sequence.
        var tree = await GetMessagesAsync(client, conversation.Id, "&view=tree");
        Assert.Equal(Enumerable.Range(1, 10).Select(n => (long)n), tree.Select(m => m.Sequence));
    }

    [Fact]
    public async Task AKeptTreeFollowsNewTurnsEditsAndBranchSwitches()
    {
        // Every tree is kept between page reads here (by default only long ones are): each read must still see the latest state.
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services
            .AddSingleton<IChatClient>(bot).AddSingleton(new Conversations.MessageTrees(minCachedMessages: 1)));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var first = await client.SendAsync(conversation.Id, "a");
        var original = await client.SendAsync(conversation.Id, "b");
        Assert.Equal(["a", "reply 1", "b", "reply 2"], (await GetMessagesAsync(client, conversation.Id)).Select(m => m.Content));

        await client.SendAsync(conversation.Id, "c");
        Assert.Equal(["a", "reply 1", "b", "reply 2", "c", "reply 3"], (await GetMessagesAsync(client, conversation.Id)).Select(m => m.Content));

        await SendAsync(client, conversation.Id, "b edited", parentId: first.AssistantMessage.Id);
        var edited = await GetMessagesAsync(client, conversation.Id);
        Assert.Equal(["a", "reply 1", "b edited", "reply 4"], edited.Select(m => m.Content));
        Assert.Equal([original.UserMessage.Id, edited[2].Id], edited[2].SiblingIds);

        await SwitchAsync(client, conversation.Id, original.UserMessage.Id);
        Assert.Equal(["a", "reply 1", "b", "reply 2", "c", "reply 3"], (await GetMessagesAsync(client, conversation.Id)).Select(m => m.Content));
        Assert.Equal(8, (await GetMessagesAsync(client, conversation.Id, "&view=tree")).Count);
    }

    [Fact]
    public async Task SixteenParallelRegeneratesMakeSixteenSiblingsInOrder()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var turn = await client.SendAsync(conversation.Id, "once more");

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ =>
            client.PostAsync($"/api/conversations/{conversation.Id}/messages/{turn.AssistantMessage.Id}/regenerate", null, Cancel)));
        var replies = new List<MessageBody>();
        foreach (var response in responses)
        {
            replies.Add((await response.ReadAsync<RegenerateBody>()).AssistantMessage);
        }

        var tree = await GetMessagesAsync(client, conversation.Id, "&view=tree");
        Assert.Equal(18, tree.Count);
        var siblings = tree.Single(m => m.Id == turn.AssistantMessage.Id).SiblingIds;
        Assert.Equal([turn.AssistantMessage.Id, .. replies.OrderBy(r => r.Sequence).Select(r => r.Id)], siblings);
        Assert.Equal(Enumerable.Range(3, 16).Select(n => (long)n), replies.Select(r => r.Sequence).Order());
        Assert.All(replies, r => Assert.Equal(turn.UserMessage.Id, r.ParentId));
        Assert.Equal(turn.TokenBalance - 1600, await client.GetBalanceAsync());
        Assert.Equal(siblings[^1], (await client.GetConversationAsync(conversation.Id)).CurrentMessageId);
    }

    [Fact]
    public async Task RepeatedEditsAndRegeneratesWithAClientMessageIdAreStoredAndChargedOnce()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var first = await client.SendAsync(conversation.Id, "a");
        await client.SendAsync(conversation.Id, "b");

        var edit = await SendAsync(client, conversation.Id, "b edited", parentId: first.AssistantMessage.Id, clientMessageId: "edit-1");
        var again = await SendAsync(client, conversation.Id, "b edited", parentId: first.AssistantMessage.Id, clientMessageId: "edit-1");
        Assert.Equal((edit.UserMessage.Id, edit.AssistantMessage.Id), (again.UserMessage.Id, again.AssistantMessage.Id));

        var regenerated = await RegenerateAsync(client, conversation.Id, edit.AssistantMessage.Id, "regen-1");
        var repeated = await RegenerateAsync(client, conversation.Id, edit.AssistantMessage.Id, "regen-1");
        Assert.Equal(regenerated.AssistantMessage.Id, repeated.AssistantMessage.Id);
        Assert.Equal(regenerated.TokenBalance, await client.GetBalanceAsync());
        Assert.Equal(4000 - 400, regenerated.TokenBalance);
        Assert.Equal(7, (await GetMessagesAsync(client, conversation.Id, "&view=tree")).Count);

        using var reused = await client.PostAsJsonAsync(
            $"/api/conversations/{conversation.Id}/messages/{first.AssistantMessage.Id}/regenerate", new { clientMessageId = "regen-1" }, Cancel);
        await reused.AssertProblemAsync(HttpStatusCode.Conflict, "clientMessageId");
        using var reusedBySend = await client.PostMessageAsync(conversation.Id, "b edited", "regen-1");
        await reusedBySend.AssertProblemAsync(HttpStatusCode.Conflict, "clientMessageId");
    }

    [Fact]
    public async Task AnotherUsersConversationAndMessagesAreNotFound()
    {
        var owner = await Factory.CreateUserClientAsync();
        var stranger = await Factory.CreateUserClientAsync();
        var conversation = await owner.CreateConversationAsync();
        var turn = await owner.SendAsync(conversation.Id, "mine");
        var own = await stranger.CreateConversationAsync();
        await stranger.SendAsync(own.Id, "theirs");

        using var regenerate = await stranger.PostAsync($"/api/conversations/{conversation.Id}/messages/{turn.AssistantMessage.Id}/regenerate", null, Cancel);
        await regenerate.AssertProblemAsync(HttpStatusCode.NotFound);
        using var intoOwn = await stranger.PostAsync($"/api/conversations/{own.Id}/messages/{turn.AssistantMessage.Id}/regenerate", null, Cancel);
        await intoOwn.AssertProblemAsync(HttpStatusCode.NotFound);
        using var switchTheirs = await stranger.PutAsJsonAsync($"/api/conversations/{conversation.Id}/current", new { messageId = turn.UserMessage.Id }, Cancel);
        await switchTheirs.AssertProblemAsync(HttpStatusCode.NotFound);
        using var switchOwn = await stranger.PutAsJsonAsync($"/api/conversations/{own.Id}/current", new { messageId = turn.UserMessage.Id }, Cancel);
        await switchOwn.AssertProblemAsync(HttpStatusCode.NotFound);
        using var tree = await stranger.GetAsync($"/api/conversations/{conversation.Id}/messages?view=tree", Cancel);
        await tree.AssertProblemAsync(HttpStatusCode.NotFound);
        using var parent = await stranger.PostAsJsonAsync($"/api/conversations/{own.Id}/messages", new { content = "x", parentId = turn.AssistantMessage.Id }, Cancel);
        await parent.AssertProblemAsync(HttpStatusCode.BadRequest, "parentId");

        Assert.Equal(2, (await owner.GetAllMessagesAsync(conversation.Id)).Count);
        Assert.Equal(3900, await owner.GetBalanceAsync());
        Assert.Equal(3900, await stranger.GetBalanceAsync());
    }

    [Fact]
    public async Task AParentThatIsNotAnAssistantMessageIsRejectedAndNothingIsStored()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        var turn = await client.SendAsync(conversation.Id, "a");

        using var userParent = await client.PostAsJsonAsync($"/api/conversations/{conversation.Id}/messages", new { content = "x", parentId = turn.UserMessage.Id }, Cancel);
        await userParent.AssertProblemAsync(HttpStatusCode.BadRequest, "parentId");
        using var unknown = await client.PostAsJsonAsync($"/api/conversations/{conversation.Id}/messages", new { content = "x", parentId = Guid.NewGuid() }, Cancel);
        await unknown.AssertProblemAsync(HttpStatusCode.BadRequest, "parentId");
        using var regenerateUser = await client.PostAsync($"/api/conversations/{conversation.Id}/messages/{turn.UserMessage.Id}/regenerate", null, Cancel);
        await regenerateUser.AssertProblemAsync(HttpStatusCode.BadRequest, "messageId");
        using var badView = await client.GetAsync($"/api/conversations/{conversation.Id}/messages?view=graph", Cancel);
        await badView.AssertProblemAsync(HttpStatusCode.BadRequest, "view");

        Assert.Equal(2, (await GetMessagesAsync(client, conversation.Id, "&view=tree")).Count);
        Assert.Equal(3900, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task PinnedConversationsComeFirstAndArchivedOnesOnlyInTheArchivedList()
    {
        var client = await Factory.CreateUserClientAsync();
        var oldest = await client.CreateConversationAsync("oldest");
        var middle = await client.CreateConversationAsync("middle");
        var newest = await client.CreateConversationAsync("newest");

        using var pin = await client.PatchAsJsonAsync($"/api/conversations/{oldest.Id}", new { pinned = true }, Cancel);
        Assert.True((await pin.ReadAsync<ConversationBody>()).Pinned);
        using var archive = await client.PatchAsJsonAsync($"/api/conversations/{middle.Id}", new { archived = true }, Cancel);
        Assert.True((await archive.ReadAsync<ConversationBody>()).Archived);

        Assert.Equal(["oldest", "newest"], (await client.ListConversationsAsync()).Items.Select(c => c.Title));
        using var archived = await client.GetAsync("/api/conversations?archived=true", Cancel);
        Assert.Equal(["middle"], (await archived.ReadAsync<PageBody<ConversationBody>>()).Items.Select(c => c.Title));

        // Keyset pages across the pinned boundary.
        var page = await client.ListConversationsAsync(limit: 1);
        Assert.Equal("oldest", Assert.Single(page.Items).Title);
        var next = await client.ListConversationsAsync(limit: 1, cursor: page.NextCursor);
        Assert.Equal("newest", Assert.Single(next.Items).Title);
        Assert.Null(next.NextCursor);

        using var restore = await client.PatchAsJsonAsync($"/api/conversations/{middle.Id}", new { archived = false, pinned = true }, Cancel);
        Assert.Equal(["middle", "oldest", "newest"], (await client.ListConversationsAsync()).Items.Select(c => c.Title));
        Assert.Equal("oldest", (await client.GetConversationAsync(oldest.Id)).Title); // pinning leaves the title alone
        _ = newest;
    }

    [Fact]
    public async Task AnExistingSingleLineConversationMigratesToOneBranch()
    {
        var database = await Fixture.CreateDatabaseAsync();
        TestUser user;
        Guid conversationId;
        List<MessageBody> before;
        var generatedKey = new Dictionary<string, string?> { ["Jwt:SigningKey"] = null }; // the token outlives the first host
        await using (var first = await Fixture.StartFactoryAsync(generatedKey, database: database))
        {
            user = await first.CreateUserAsync();
            conversationId = (await user.Client.CreateConversationAsync()).Id;
            for (var i = 1; i <= 3; i++)
            {
                await user.Client.SendAsync(conversationId, $"message {i}");
            }

            before = await user.Client.GetAllMessagesAsync(conversationId);

            // Back to the schema before branches (the migration's Down drops the new columns), then forward again.
            await using var scope = first.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
            var migrations = db.Database.GetMigrations().ToList();
            var branches = migrations.FindIndex(m => m.EndsWith("_Branches", StringComparison.Ordinal));
            await db.Database.MigrateAsync(migrations[branches - 1], Cancel);
            Assert.DoesNotContain(migrations[branches], await db.Database.GetAppliedMigrationsAsync(Cancel));
        }

        await using var second = await Fixture.StartFactoryAsync(generatedKey, database: database); // migrates to the latest at start
        using var client = second.CreateClient(user.Tokens.AccessToken);
        var after = await GetMessagesAsync(client, conversationId);
        Assert.Equal(before.Select(m => m.Id), after.Select(m => m.Id));
        Assert.Equal([null, .. after.Take(5).Select(m => (Guid?)m.Id)], after.Select(m => m.ParentId));
        Assert.All(after, m => Assert.Equal([m.Id], m.SiblingIds));
        Assert.Equal(after[^1].Id, (await client.GetConversationAsync(conversationId)).CurrentMessageId);

        var next = await client.SendAsync(conversationId, "message 4");
        Assert.Equal((after[^1].Id, 7L), (next.UserMessage.ParentId, next.UserMessage.Sequence));
    }

    private static async Task<TurnBody> SendAsync(
        HttpClient client, Guid conversationId, string content, Guid? parentId, bool explicitParent = true, string? clientMessageId = null)
    {
        using var response = explicitParent
            ? await client.PostAsJsonAsync($"/api/conversations/{conversationId}/messages", new { content, parentId, clientMessageId }, Cancel)
            : await client.PostMessageAsync(conversationId, content, clientMessageId);
        return await response.ReadAsync<TurnBody>();
    }

    private static async Task<RegenerateBody> RegenerateAsync(HttpClient client, Guid conversationId, Guid messageId, string? clientMessageId = null)
    {
        using var response = await client.PostAsJsonAsync(
            $"/api/conversations/{conversationId}/messages/{messageId}/regenerate", new { clientMessageId }, Cancel);
        return await response.ReadAsync<RegenerateBody>();
    }

    private static async Task<ConversationBody> SwitchAsync(HttpClient client, Guid conversationId, Guid messageId)
    {
        using var response = await client.PutAsJsonAsync($"/api/conversations/{conversationId}/current", new { messageId }, Cancel);
        return await response.ReadAsync<ConversationBody>();
    }

    private static async Task<List<ListedMessageBody>> GetMessagesAsync(HttpClient client, Guid conversationId, string query = "")
    {
        using var response = await client.GetAsync($"/api/conversations/{conversationId}/messages?limit=200{query}", Cancel);
        var page = await response.ReadAsync<PageBody<ListedMessageBody>>();
        Assert.Null(page.NextCursor);
        return [.. page.Items];
    }
}

public sealed class BranchesOnSqlite(SqliteFixture fixture) : BranchesTests<SqliteFixture>(fixture);

public sealed class BranchesOnPostgreSql(PostgreSqlFixture fixture) : BranchesTests<PostgreSqlFixture>(fixture);
