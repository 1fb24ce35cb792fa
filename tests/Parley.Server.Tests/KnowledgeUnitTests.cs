using System.Net;
using Parley.Engine.Bots;
using Parley.Server.Knowledge;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Issue 12, knowledge: how documents are cut into chunks (<see cref="DocumentChunker"/>) with the engine's token counter.</summary>
public sealed class DocumentChunkerTests
{
    private static readonly ITokenCounter Tokens = TiktokenCounter.Shared;

    [Fact]
    public void ParagraphsArePackedWholeWhileTheyFit()
    {
        var paragraphs = Enumerable.Range(1, 6).Select(i => $"Paragraph {i} has exactly some words in it.").ToList();
        var perParagraph = Tokens.Count(paragraphs[0]);

        var chunks = new DocumentChunker(Tokens, perParagraph * 2 + 4, 0).Split(string.Join("\n\n", paragraphs));

        Assert.Equal([$"{paragraphs[0]}\n\n{paragraphs[1]}", $"{paragraphs[2]}\n\n{paragraphs[3]}", $"{paragraphs[4]}\n\n{paragraphs[5]}"], chunks);
    }

    [Fact]
    public void AHeadingStartsANewChunk()
    {
        var text = "# One\n\nAlpha beta gamma delta epsilon zeta eta theta.\n## Two\nIota kappa lambda.";

        var chunks = new DocumentChunker(Tokens, 40, 0).Split(text); // "# One" and its paragraph fill more than a quarter

        Assert.Equal(["# One\n\nAlpha beta gamma delta epsilon zeta eta theta.", "## Two\n\nIota kappa lambda."], chunks);
    }

    [Fact]
    public void AParagraphLongerThanAChunkIsCutBetweenWordsAndEveryChunkFits()
    {
        var text = string.Join(' ', Enumerable.Range(0, 400).Select(i => $"word{i}"));

        var chunks = new DocumentChunker(Tokens, 50, 0).Split(text);

        Assert.True(chunks.Count > 1);
        Assert.All(chunks, c => Assert.True(Tokens.Count(c) <= 50, $"{Tokens.Count(c)} tokens: {c}"));
        Assert.Equal(text, string.Join(' ', chunks)); // nothing lost, nothing repeated, cut only at spaces
    }

    [Fact]
    public void EachChunkStartsWithTheEndOfThePreviousOne()
    {
        var text = string.Join(' ', Enumerable.Range(0, 200).Select(i => $"w{i}"));

        var chunks = new DocumentChunker(Tokens, 40, 8).Split(text);

        for (var i = 1; i < chunks.Count; i++)
        {
            var previousWords = chunks[i - 1].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var overlap = chunks[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).TakeWhile(w => previousWords.Contains(w)).ToList();
            Assert.NotEmpty(overlap);
            Assert.True(Tokens.Count(string.Join(' ', overlap)) <= 8);
            Assert.Equal(previousWords[^overlap.Count..], overlap);
        }
    }

    [Fact]
    public void WhitespaceOnlyTextHasNoChunks() => Assert.Empty(new DocumentChunker(Tokens, 100, 10).Split(" \n\n \t\n"));
}

/// <summary>Issue 12, knowledge: the embedding retriever against a fake OpenAI-compatible <c>/v1/embeddings</c>, and the options' start-up checks.</summary>
public sealed class EmbeddingRetrievalTests(SqliteFixture fixture) : ParleyTests<SqliteFixture>(fixture), IAsyncLifetime
{
    private FakeModelServer _fake = null!;

    /// <inheritdoc />
    public async ValueTask InitializeAsync() => _fake = await FakeModelServer.StartAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _fake.DisposeAsync();

    [Fact]
    public async Task ChunksAreEmbeddedAtUploadAndTheMostSimilarOneIsSentToTheModel()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?>
        {
            ["Bot:Provider"] = "openai",
            ["Bot:OpenAI:BaseUrl"] = _fake.OpenAIBaseUrl,
            ["Bot:Models:0:Id"] = "fake-large",
            ["Bot:GenerateTitles"] = "false",
            ["Bot:RetryDelay"] = "00:00:00.010",
            ["Knowledge:Embeddings"] = "fake-embed",
            ["Knowledge:ChunkTokens"] = "32",
            ["Knowledge:ChunkOverlapTokens"] = "0",
            ["Knowledge:TopK"] = "1",
        });
        var client = await factory.CreateUserClientAsync();
        var document = await DocumentsTests<SqliteFixture>.UploadJsonAsync(client, "Farm",
            "# Orchard\napples pears plums orchard harvest\n# Tower\nlighthouse cobalt blue zanzibar tower\n# Bread\nsourdough starter flour water bake");
        var upload = Assert.Single(_fake.EmbeddingRequests);
        Assert.Equal("fake-embed", upload["model"]!.GetValue<string>());
        Assert.Equal(3, upload["input"]!.AsArray().Count);
        var conversation = await RetrievalTests<SqliteFixture>.CreateAsync(client, useDocuments: true);

        var turn = await client.SendAsync(conversation.Id, "which tower is cobalt blue");

        Assert.Equal("which tower is cobalt blue", _fake.EmbeddingRequests[^1]["input"]!.AsArray().Single()!.GetValue<string>());
        var chat = _fake.Requests.Last(r => r.Path == "/v1/chat/completions");
        var system = chat.Body["messages"]!.AsArray().Where(m => m!["role"]!.GetValue<string>() == "system").Select(m => m!["content"]!.ToString()).Single();
        Assert.Contains("[Farm #1]\n# Tower\n\nlighthouse cobalt blue zanzibar tower", system, StringComparison.Ordinal);
        Assert.DoesNotContain("orchard", system, StringComparison.Ordinal);
        Assert.Equal([new SourceBody(document.Id, "Farm", 1)], RetrievalTests<SqliteFixture>.SourcesOf(turn.AssistantMessage));
    }

    [Theory]
    [InlineData("Knowledge:TopK", "0")]
    [InlineData("Knowledge:ChunkTokens", "100000")]
    [InlineData("Knowledge:MaxBytes", "10")]
    [InlineData("Knowledge:ChunkOverlapTokens", "200")]
    [InlineData("Knowledge:Embeddings", "needs-a-provider")]
    public async Task ASettingOutOfRangeStopsTheServerAtStart(string key, string value)
    {
        var database = await Fixture.CreateDatabaseAsync();
        await using var factory = new ParleyFactory(database, new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<Exception>(() => factory.Server);

        Assert.Contains(key, error.ToString(), StringComparison.Ordinal);
    }
}
