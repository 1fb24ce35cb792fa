using System.Net;
using System.Net.Http.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Issue 12: share links — a snapshot of the current branch, readable without login, listed, revoked.</summary>
public abstract class SharesTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task ASharedSnapshotIgnoresLaterTurnsAndRenames()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("Holiday");
        var first = await client.SendAsync(conversation.Id, "first question");

        var share = await CreateShareAsync(client, conversation.Id);
        await client.SendAsync(conversation.Id, "later question");
        using (var renamed = await client.PatchAsJsonAsync($"/api/conversations/{conversation.Id}", new { title = "Renamed" }, Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        }

        using var anonymous = Factory.CreateClient();
        var shared = await (await anonymous.GetAsync($"/api/shares/{share.Id}", Cancel)).ReadAsync<SharedBody>();
        Assert.Equal("Holiday", shared.Title);
        Assert.Equal(
            [(first.UserMessage.Id, "user", "first question"), (first.AssistantMessage.Id, "assistant", "first question")],
            shared.Messages.Select(m => (m.Id, m.Role, m.Content)));
        Assert.EndsWith($"/s/{share.Id}", share.Url, StringComparison.Ordinal);
        Assert.Equal(24, share.Id.Length); // 144 random bits, base64url
    }

    [Fact]
    public async Task ASnapshotHoldsOnlyTheCurrentBranch()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("branches");
        var first = await client.SendAsync(conversation.Id, "a");
        await client.SendAsync(conversation.Id, "b");
        using (var edit = await client.PostAsJsonAsync($"/api/conversations/{conversation.Id}/messages", new { content = "b edited", parentId = first.AssistantMessage.Id }, Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        }

        var share = await CreateShareAsync(client, conversation.Id);

        using var anonymous = Factory.CreateClient();
        var shared = await (await anonymous.GetAsync($"/api/shares/{share.Id}", Cancel)).ReadAsync<SharedBody>();
        Assert.Equal(["a", "a", "b edited", "b edited"], shared.Messages.Select(m => m.Content));
    }

    [Fact]
    public async Task ARevokedLinkIsGoneAndOnlyItsOwnerMayRevokeIt()
    {
        var client = await Factory.CreateUserClientAsync();
        var other = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("secret");
        await client.SendAsync(conversation.Id, "hello");
        var share = await CreateShareAsync(client, conversation.Id);
        var listed = await (await client.GetAsync("/api/shares", Cancel)).ReadAsync<PageBody<ShareBody>>();
        Assert.Equal([share.Id], listed.Items.Select(s => s.Id));
        Assert.Empty((await (await other.GetAsync("/api/shares", Cancel)).ReadAsync<PageBody<ShareBody>>()).Items);

        using (var notTheirs = await other.DeleteAsync($"/api/shares/{share.Id}", Cancel))
        {
            await notTheirs.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var revoked = await client.DeleteAsync($"/api/shares/{share.Id}", Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }

        using var anonymous = Factory.CreateClient();
        using var gone = await anonymous.GetAsync($"/api/shares/{share.Id}", Cancel);
        await gone.AssertProblemAsync(HttpStatusCode.NotFound);
        using var again = await client.DeleteAsync($"/api/shares/{share.Id}", Cancel);
        await again.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Empty((await (await client.GetAsync("/api/shares", Cancel)).ReadAsync<PageBody<ShareBody>>()).Items);
    }

    [Fact]
    public async Task OnlyTheOwnerCanShareAConversation()
    {
        var client = await Factory.CreateUserClientAsync();
        var other = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("mine");

        using var response = await other.PostAsync($"/api/conversations/{conversation.Id}/shares", null, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    private static async Task<ShareBody> CreateShareAsync(HttpClient client, Guid conversationId)
    {
        using var response = await client.PostAsync($"/api/conversations/{conversationId}/shares", null, Cancel);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var share = await response.ReadAsync<ShareBody>();
        Assert.Equal($"/api/shares/{share.Id}", response.Headers.Location?.OriginalString);
        return share;
    }
}

public sealed record ShareBody(string Id, string Url, DateTimeOffset CreatedAt, Guid ConversationId, string? Title);

public sealed record SharedMessageBody(Guid Id, string Role, string Content, DateTimeOffset CreatedAt, string? Model);

public sealed record SharedBody(string? Title, IReadOnlyList<SharedMessageBody> Messages, DateTimeOffset CreatedAt);

public sealed class SharesOnSqlite(SqliteFixture fixture) : SharesTests<SqliteFixture>(fixture);

public sealed class SharesOnPostgreSql(PostgreSqlFixture fixture) : SharesTests<PostgreSqlFixture>(fixture);
