using System.Net;
using System.Text;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Issue 12: import of Parley's export (round trip) and of ChatGPT's conversations.json; bad files import nothing.</summary>
public abstract class ImportTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task AnExportImportsBackWithItsTree()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("Round trip");
        using (var patch = await client.PatchAsync($"/api/conversations/{conversation.Id}",
            Json("""{"systemPrompt":"Answer in French.","model":"echo"}"""), Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }

        var first = await client.SendAsync(conversation.Id, "a");
        await client.SendAsync(conversation.Id, "b");
        using (var edit = await client.PostAsync($"/api/conversations/{conversation.Id}/messages",
            Json($$"""{"content":"b edited","parentId":"{{first.AssistantMessage.Id}}"}"""), Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        }

        var exported = await client.GetStringAsync($"/api/conversations/{conversation.Id}/export", Cancel);
        var imported = await ImportAsync(client, exported);

        var id = Assert.Single(imported.ConversationIds);
        var original = await ExportAsync(client, conversation.Id);
        var copy = await ExportAsync(client, id);
        Assert.Equal(("Round trip", "Answer in French.", "echo"), (copy.Title, copy.SystemPrompt, copy.Model));
        Assert.Equal(original.Messages.Select(m => (m.Role, m.Content, m.CreatedAt, m.Model)), copy.Messages.Select(m => (m.Role, m.Content, m.CreatedAt, m.Model)));
        Assert.Equal(Shape(original), Shape(copy));
        Assert.Equal(original.Messages.ToList().IndexOf(original.Messages.Single(m => m.Id == original.CurrentMessageId)),
            copy.Messages.ToList().IndexOf(copy.Messages.Single(m => m.Id == copy.CurrentMessageId)));
    }

    [Fact]
    public async Task AChatGptExportKeepsBranchesAndLeavesOutTheRootAndHiddenMessages()
    {
        var client = await Factory.CreateUserClientAsync();
        const string file = """
            [{"title":"From ChatGPT","create_time":1700000000.5,"current_node":"a2","mapping":{
              "root":{"id":"root","message":null,"parent":null,"children":["sys"]},
              "sys":{"id":"sys","message":{"author":{"role":"system"},"content":{"content_type":"text","parts":[""]},"metadata":{"is_visually_hidden_from_conversation":true}},"parent":"root","children":["u1"]},
              "u1":{"id":"u1","message":{"author":{"role":"user"},"create_time":1700000001.25,"content":{"content_type":"text","parts":["Hello"]},"status":"finished_successfully"},"parent":"sys","children":["a1","a2"]},
              "a1":{"id":"a1","message":{"author":{"role":"assistant"},"create_time":1700000002,"content":{"content_type":"text","parts":["First answer"]},"status":"finished_successfully","metadata":{"model_slug":"gpt-4o"}},"parent":"u1","children":[]},
              "a2":{"id":"a2","message":{"author":{"role":"assistant"},"create_time":1700000003,"content":{"content_type":"text","parts":["Second ","answer"]},"status":"in_progress"},"parent":"u1","children":[]}
            }}]
            """;

        var imported = await ImportAsync(client, file);

        var copy = await ExportAsync(client, Assert.Single(imported.ConversationIds));
        Assert.Equal("From ChatGPT", copy.Title);
        Assert.Equal(["Hello", "First answer", "Second \nanswer"], copy.Messages.Select(m => m.Content));
        Assert.Equal([null, copy.Messages[0].Id, copy.Messages[0].Id], copy.Messages.Select(m => m.ParentId));
        Assert.Equal(copy.Messages[2].Id, copy.CurrentMessageId);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_001_250), copy.Messages[0].CreatedAt);
        Assert.Equal(("gpt-4o", "completed", "cancelled"), (copy.Messages[1].Model, copy.Messages[1].Status, copy.Messages[2].Status));
    }

    [Theory]
    [InlineData("""[{"title":"x","mapping":{"a":{"message":null,"parent":null""")]
    [InlineData("""{"hello":"world"}""")]
    [InlineData("""not json""")]
    [InlineData("""[{"title":"cycle","mapping":{"a":{"message":null,"parent":"b"},"b":{"message":null,"parent":"a"}}}]""")]
    [InlineData("""{"format":"parley.conversation/1","id":"01a21c23-fae6-759b-83b0-ef6a73eb8c3a","title":"t","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","currentMessageId":null,"messages":[{"id":"01a21c23-fae6-759b-83b0-ef6a73eb8c3b","conversationId":"01a21c23-fae6-759b-83b0-ef6a73eb8c3a","sequence":1,"role":"user","content":"x","status":"completed","createdAt":"2026-01-01T00:00:00Z","parentId":"01a21c23-fae6-759b-83b0-ef6a73eb8c3c"}]}""")]
    public async Task ABadFileIsAProblemAndImportsNothing(string file)
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostAsync("/api/conversations/import", Json(file), Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "file");
        Assert.Empty((await client.ListConversationsAsync()).Items);
    }

    [Fact]
    public async Task ALongChatGptChainWithOddFieldsImportsWhole()
    {
        // 10,000 messages in one line (the walk is linear), a model slug longer than its column, text in content.text, an
        // image part, and nodes of odd shapes (a number; an author that is a string) that are left out.
        var client = await Factory.CreateUserClientAsync();
        var nodes = new List<string>
        {
            "\"n0\":{\"message\":null,\"parent\":null}",
            "\"odd1\":42",
            "\"odd2\":{\"message\":{\"author\":\"user\",\"content\":\"text\"},\"parent\":\"n5\"}",
        };
        for (var i = 1; i <= 10_000; i++)
        {
            var role = i % 2 == 1 ? "user" : "assistant";
            var content = i == 2 ? "{\"content_type\":\"code\",\"text\":\"print(1)\"}" : $"{{\"parts\":[\"m{i}\",{{\"asset_pointer\":\"x\"}}]}}";
            nodes.Add($"\"n{i}\":{{\"message\":{{\"author\":{{\"role\":\"{role}\"}},\"content\":{content},\"metadata\":{{\"model_slug\":\"{new string('g', 300)}\"}}}},\"parent\":\"n{i - 1}\"}}");
        }

        var imported = await ImportAsync(client, $"[{{\"title\":\"long\",\"current_node\":\"n10000\",\"mapping\":{{{string.Join(",", nodes)}}}}}]");

        var copy = await ExportAsync(client, Assert.Single(imported.ConversationIds));
        Assert.Equal(10_000, copy.Messages.Count);
        Assert.Equal(["m1", "print(1)", "m3"], copy.Messages.Take(3).Select(m => m.Content));
        Assert.Equal(new string('g', 100), copy.Messages[1].Model);
        Assert.Equal(copy.Messages[^1].Id, copy.CurrentMessageId);
        Assert.All(copy.Messages.Skip(1).Zip(copy.Messages), pair => Assert.Equal(pair.Second.Id, pair.First.ParentId));
    }

    [Fact]
    public async Task AFileOverTheLimitIsRefused()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?> { ["Import:MaxBytes"] = "1024" });
        var client = await factory.CreateUserClientAsync();

        using var response = await client.PostAsync("/api/conversations/import", Json($"[\"{new string('x', 2000)}\"]"), Cancel);

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "file");
        Assert.Empty((await client.ListConversationsAsync()).Items);
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private static List<int?> Shape(ExportBody export) =>
        [.. export.Messages.Select(m => m.ParentId is { } p ? export.Messages.ToList().FindIndex(x => x.Id == p) : (int?)null)];

    private static async Task<ImportResultBody> ImportAsync(HttpClient client, string file)
    {
        using var response = await client.PostAsync("/api/conversations/import", Json(file), Cancel);
        return await response.ReadAsync<ImportResultBody>();
    }

    private static async Task<ExportBody> ExportAsync(HttpClient client, Guid id)
    {
        using var response = await client.GetAsync($"/api/conversations/{id}/export", Cancel);
        return await response.ReadAsync<ExportBody>();
    }
}

public sealed record ImportResultBody(int Imported, IReadOnlyList<Guid> ConversationIds);

public sealed class ImportOnSqlite(SqliteFixture fixture) : ImportTests<SqliteFixture>(fixture);

public sealed class ImportOnPostgreSql(PostgreSqlFixture fixture) : ImportTests<PostgreSqlFixture>(fixture);
