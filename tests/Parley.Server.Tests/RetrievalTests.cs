using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Parley.Engine.Bots;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Issue 12, knowledge: the retrieval stage before generation puts the right chunks into the prompt and records them as sources.</summary>
public abstract class RetrievalTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    // Each about 20 tokens, so with Knowledge:ChunkTokens 32 every paragraph is a chunk of its own.
    private const string Lighthouse = "The Zanzibar lighthouse on the northern cape is painted cobalt blue and was first lit by its keepers in 1897.";
    private const string Orchard = "Our orchard grows twelve varieties of apples and several pears along the southern slope of the valley farm.";
    private const string Recipe = "To bake sourdough bread at home, feed the starter the night before and let the dough rise slowly overnight.";

    private static readonly Dictionary<string, string?> OneChunkPerParagraph = new()
    {
        ["Knowledge:ChunkTokens"] = "32",
        ["Knowledge:ChunkOverlapTokens"] = "0",
        ["Knowledge:TopK"] = "1",
    };

    [Fact]
    public async Task TheMatchingChunkGoesIntoThePromptAndTheReplyRecordsItsSource()
    {
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(OneChunkPerParagraph, services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var document = await DocumentsTests<TFixture>.UploadJsonAsync(client, "Field notes", $"{Orchard}\n\n{Lighthouse}\n\n{Recipe}");
        Assert.Equal(3, document.Chunks);
        var conversation = await CreateAsync(client, useDocuments: true);

        var turn = await client.SendAsync(conversation.Id, "What colour is the lighthouse in Zanzibar?");

        var context = Assert.Single(bot.SystemMessages[^1]);
        Assert.StartsWith(TurnPrompt.ExcerptsPreamble, context, StringComparison.Ordinal);
        Assert.Contains($"[Field notes #1]\n{Lighthouse}", context, StringComparison.Ordinal);
        Assert.DoesNotContain(Orchard, context, StringComparison.Ordinal);
        Assert.DoesNotContain(Recipe, context, StringComparison.Ordinal);
        var expected = new SourceBody(document.Id, "Field notes", 1);
        Assert.Equal([expected], SourcesOf(turn.AssistantMessage));
        var stored = await client.GetFromJsonAsync<JsonElement>($"/api/conversations/{conversation.Id}/messages", Cancel);
        var reply = stored.GetProperty("items").EnumerateArray().Last();
        Assert.Equal([expected], reply.GetProperty("sources").Deserialize<List<SourceBody>>(Json.Strict));
    }

    [Fact]
    public async Task TheStreamsFinalEventCarriesTheSources()
    {
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(OneChunkPerParagraph, services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var document = await DocumentsTests<TFixture>.UploadJsonAsync(client, "Bakery", $"{Orchard}\n\n{Recipe}");
        var conversation = await CreateAsync(client, useDocuments: true);

        using var response = await client.PostMessageStreamingAsync(conversation.Id, "how do I bake sourdough", Cancel);
        var events = await response.ReadAllEventsAsync();

        Assert.Equal("assistant", events[^1].Type);
        var sources = events[^1].Data.GetProperty("assistantMessage").GetProperty("sources").Deserialize<List<SourceBody>>(Json.Strict);
        Assert.Equal([new SourceBody(document.Id, "Bakery", 1)], sources);
        Assert.Contains(Recipe, Assert.Single(bot.SystemMessages[^1]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutDocumentsOrWithTheSettingOffNoContextIsAdded()
    {
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(OneChunkPerParagraph, services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        var conversation = await CreateAsync(client, useDocuments: true);

        var empty = await client.SendAsync(conversation.Id, "What colour is the lighthouse?");

        Assert.Empty(bot.SystemMessages[^1]);
        Assert.Null(SourcesOf(empty.AssistantMessage));

        await DocumentsTests<TFixture>.UploadJsonAsync(client, "Notes", Lighthouse);
        var off = await client.CreateConversationAsync();
        Assert.False(off.UseDocuments);
        var plain = await client.SendAsync(off.Id, "What colour is the lighthouse?");
        Assert.Empty(bot.SystemMessages[^1]);
        Assert.Null(SourcesOf(plain.AssistantMessage));
    }

    [Fact]
    public async Task TurningTheSettingOnWithPatchAppliesToTheNextTurn()
    {
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(OneChunkPerParagraph, services => services.AddSingleton<IChatClient>(bot));
        var client = await factory.CreateUserClientAsync();
        await DocumentsTests<TFixture>.UploadJsonAsync(client, "Notes", Lighthouse);
        var conversation = await client.CreateConversationAsync();
        await client.SendAsync(conversation.Id, "lighthouse?"); // the grain now holds the conversation's context
        Assert.Empty(bot.SystemMessages[^1]);

        using (var patch = await client.PatchAsJsonAsync($"/api/conversations/{conversation.Id}", new { useDocuments = true }, Cancel))
        {
            Assert.True((await patch.ReadAsync<ConversationBody>()).UseDocuments);
        }

        var turn = await client.SendAsync(conversation.Id, "lighthouse?");
        Assert.Contains(Lighthouse, Assert.Single(bot.SystemMessages[^1]), StringComparison.Ordinal);
        Assert.Single(SourcesOf(turn.AssistantMessage)!);
    }

    [Fact]
    public async Task AnotherUsersDocumentsAreNeverRetrieved()
    {
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(OneChunkPerParagraph, services => services.AddSingleton<IChatClient>(bot));
        var alice = await factory.CreateUserClientAsync();
        var bob = await factory.CreateUserClientAsync();
        await DocumentsTests<TFixture>.UploadJsonAsync(alice, "Alice's", Lighthouse);
        var conversation = await CreateAsync(bob, useDocuments: true);

        var turn = await bob.SendAsync(conversation.Id, "What colour is the Zanzibar lighthouse?");

        Assert.Empty(bot.SystemMessages[^1]);
        Assert.Null(SourcesOf(turn.AssistantMessage));
    }

    [Fact]
    public async Task AFailingRetrievalIsLoggedAndTheTurnIsAnsweredWithoutSources()
    {
        var bot = new RecordingChatClient();
        await using var factory = await Fixture.StartFactoryAsync(OneChunkPerParagraph, services => services
            .AddSingleton<IChatClient>(bot)
            .AddSingleton<IPromptAugmenter>(new FailingAugmenter()));
        var client = await factory.CreateUserClientAsync();
        var conversation = await CreateAsync(client, useDocuments: true);
        var balance = await client.GetBalanceAsync();

        var turn = await client.SendAsync(conversation.Id, "What colour is the lighthouse?");

        Assert.Equal("completed", turn.AssistantMessage.Status);
        Assert.Null(SourcesOf(turn.AssistantMessage));
        Assert.Empty(bot.SystemMessages[^1]);
        Assert.Equal(balance - 100, turn.TokenBalance); // charged like any turn: the user was answered
        Assert.Contains(factory.Logs.Entries, e => e.Contains("Retrieving document excerpts", StringComparison.Ordinal));
    }

    private sealed class FailingAugmenter : IPromptAugmenter
    {
        public Task<IReadOnlyList<DocumentExcerpt>> FindExcerptsAsync(Guid userId, string userText, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the index is broken");
    }

    internal static async Task<ConversationBody> CreateAsync(HttpClient client, bool useDocuments)
    {
        using var response = await client.PostAsJsonAsync("/api/conversations", new { useDocuments }, Cancel);
        var created = await response.ReadAsync<ConversationBody>();
        Assert.Equal(useDocuments, created.UseDocuments);
        return created;
    }

    internal static List<SourceBody>? SourcesOf(MessageBody message) => message.Sources?.ToList();
}

public sealed record SourceBody(Guid DocumentId, string Title, int ChunkIndex);

public sealed class RetrievalOnSqlite(SqliteFixture fixture) : RetrievalTests<SqliteFixture>(fixture);

public sealed class RetrievalOnPostgreSql(PostgreSqlFixture fixture) : RetrievalTests<PostgreSqlFixture>(fixture);
