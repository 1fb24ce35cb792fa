using System.Net;
using System.Net.Http.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Issue 12: export of a conversation (JSON tree, Markdown branch) and of all of a user's conversations.</summary>
public abstract class ExportTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task JsonHoldsTheWholeTreeAndMarkdownTheCurrentBranch()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("Export me");
        var first = await client.SendAsync(conversation.Id, "a");
        var old = await client.SendAsync(conversation.Id, "b");
        using (var edit = await client.PostAsJsonAsync($"/api/conversations/{conversation.Id}/messages", new { content = "b edited", parentId = first.AssistantMessage.Id }, Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        }

        using var json = await client.GetAsync($"/api/conversations/{conversation.Id}/export?format=json", Cancel);
        Assert.Equal($"parley-{conversation.Id}.json", json.Content.Headers.ContentDisposition?.FileNameStar ?? json.Content.Headers.ContentDisposition?.FileName);
        Assert.Equal("attachment", json.Content.Headers.ContentDisposition?.DispositionType);
        var document = await json.ReadAsync<ExportBody>();
        Assert.Equal(("parley.conversation/1", "Export me"), (document.Format, document.Title));
        Assert.Equal(["a", "a", "b", "b", "b edited", "b edited"], document.Messages.Select(m => m.Content));
        Assert.Equal(first.AssistantMessage.Id, document.Messages[4].ParentId);
        Assert.Equal(old.UserMessage.Id, document.Messages[3].ParentId);
        Assert.Equal(document.Messages[5].Id, document.CurrentMessageId);
        Assert.NotNull(document.Messages[1].Usage);

        using var markdown = await client.GetAsync($"/api/conversations/{conversation.Id}/export?format=markdown", Cancel);
        Assert.Equal(HttpStatusCode.OK, markdown.StatusCode);
        Assert.Equal("text/markdown", markdown.Content.Headers.ContentType?.MediaType);
        var text = await markdown.Content.ReadAsStringAsync(Cancel);
        Assert.StartsWith("# Export me\n", text, StringComparison.Ordinal);
        Assert.Contains("\nb edited\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\nb\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherUsersConversationAndUnknownFormatsAreProblems()
    {
        var client = await Factory.CreateUserClientAsync();
        var other = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("mine");

        using var notTheirs = await other.GetAsync($"/api/conversations/{conversation.Id}/export", Cancel);
        await notTheirs.AssertProblemAsync(HttpStatusCode.NotFound);
        using var badFormat = await client.GetAsync($"/api/conversations/{conversation.Id}/export?format=pdf", Cancel);
        await badFormat.AssertProblemAsync(HttpStatusCode.BadRequest, "format");
    }

    [Fact]
    public async Task TheUserExportHoldsEveryConversationOfTheCallerOnly()
    {
        var client = await Factory.CreateUserClientAsync();
        var other = await Factory.CreateUserClientAsync();
        var one = await client.CreateConversationAsync("one");
        await client.SendAsync(one.Id, "hello");
        var two = await client.CreateConversationAsync("two");
        await other.SendAsync((await other.CreateConversationAsync("theirs")).Id, "private");

        using var response = await client.GetAsync("/api/users/me/export", Cancel);

        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        var document = await response.ReadAsync<UserExportBody>();
        Assert.Equal([one.Id, two.Id], document.Conversations.Select(c => c.Id));
        Assert.Equal(["hello", "hello"], document.Conversations[0].Messages.Select(m => m.Content));
        Assert.Empty(document.Conversations[1].Messages);
    }
}

public sealed record ExportMessageBody(
    Guid Id, Guid ConversationId, long Sequence, string Role, string Content, string Status, DateTimeOffset CreatedAt,
    string? Model, string? FinishReason, UsageBody? Usage, Guid? ParentId, IReadOnlyList<Guid>? SiblingIds);

public sealed record ExportBody(
    string Format, Guid Id, string? Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? Model, string? SystemPrompt,
    Guid? CurrentMessageId, IReadOnlyList<ExportMessageBody> Messages);

public sealed record UserExportBody(DateTimeOffset ExportedAt, IReadOnlyList<ExportBody> Conversations);

public sealed class ExportOnSqlite(SqliteFixture fixture) : ExportTests<SqliteFixture>(fixture);

public sealed class ExportOnPostgreSql(PostgreSqlFixture fixture) : ExportTests<PostgreSqlFixture>(fixture);
