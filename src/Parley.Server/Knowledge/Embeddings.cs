using System.ClientModel;
using System.ClientModel.Primitives;
using System.Runtime.InteropServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OllamaSharp;
using OpenAI;
using Parley.Server.Data;
using Parley.Server.Models;

namespace Parley.Server.Knowledge;

/// <summary>
/// Embeds texts with <c>Knowledge:Embeddings</c> on the configured provider, through Microsoft.Extensions.AI's
/// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> (OpenAI-compatible <c>/v1/embeddings</c>, or Ollama's
/// <c>/api/embed</c>). Registered only when the setting names a model.
/// </summary>
public sealed class ChunkEmbedder(IEmbeddingGenerator<string, Embedding<float>> generator)
{
    /// <summary>Texts per request to the provider.</summary>
    private const int BatchSize = 64;

    /// <summary>One embedding per text, in order, as little-endian float32 bytes (the stored form).</summary>
    public async Task<byte[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        var result = new byte[texts.Count][];
        for (var start = 0; start < texts.Count; start += BatchSize)
        {
            var batch = texts.Skip(start).Take(BatchSize).ToList();
            var embeddings = await generator.GenerateAsync(batch, cancellationToken: cancellationToken);
            for (var i = 0; i < batch.Count; i++)
            {
                result[start + i] = MemoryMarshal.AsBytes(embeddings[i].Vector.Span).ToArray();
            }
        }

        return result;
    }

    /// <summary>The embedding of one text.</summary>
    public async Task<float[]> EmbedAsync(string text, CancellationToken cancellationToken) =>
        (await generator.GenerateAsync([text], cancellationToken: cancellationToken))[0].Vector.ToArray();

    /// <summary>The provider's embedding generator for <paramref name="model"/> (<c>Bot:Provider</c> openai or ollama).</summary>
    internal static IEmbeddingGenerator<string, Embedding<float>> Create(IServiceProvider services, string model)
    {
        var bot = services.GetRequiredService<IOptions<BotOptions>>().Value;
        var http = services.GetRequiredService<IHttpClientFactory>().CreateClient(BotSetup.HttpClientName);
        if (bot.Provider.Equals("openai", StringComparison.OrdinalIgnoreCase))
        {
            return BotSetup.CreateOpenAIClient(bot, http).GetEmbeddingClient(model).AsIEmbeddingGenerator();
        }

        http.BaseAddress = bot.Ollama.BaseUrl;
        return new OllamaApiClient(http, model);
    }
}

/// <summary>
/// Ranks by cosine similarity between the message's embedding and the stored chunk embeddings, computed in process over
/// the user's chunks (pgvector is not available on the machines Parley targets today, and SQLite has no vector index):
/// each retrieval reads every embedded chunk of the user, so it suits thousands of chunks per user, not millions.
/// Chunks uploaded before embeddings were configured have none and are not found by this retriever.
/// </summary>
public sealed class EmbeddingRetriever(ParleyDbContext db, ChunkEmbedder embedder) : IRetriever
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<RankedChunk>> RetrieveAsync(string query, Guid userId, int topK, CancellationToken cancellationToken)
    {
        var stored = await db.Set<DocumentChunk>().AsNoTracking().Where(c => c.UserId == userId && c.Embedding != null)
            .Select(c => new { c.Id, c.Embedding }).ToListAsync(cancellationToken);
        if (stored.Count == 0)
        {
            return [];
        }

        var target = await embedder.EmbedAsync(query, cancellationToken);
        var best = stored
            .Select(c => (c.Id, Score: Cosine(target, MemoryMarshal.Cast<byte, float>(c.Embedding))))
            .OrderByDescending(c => c.Score).ThenBy(c => c.Id).Take(topK).ToList();
        var ids = best.ConvertAll(b => b.Id);
        var rows = await (
                from c in db.Set<DocumentChunk>().AsNoTracking()
                join d in db.Set<Document>().AsNoTracking() on c.DocumentId equals d.Id
                where ids.Contains(c.Id)
                select new { c.Id, Chunk = new RankedChunk { DocumentId = c.DocumentId, Title = d.Title, ChunkIndex = c.ChunkIndex, Text = c.Text } })
            .ToDictionaryAsync(r => r.Id, r => r.Chunk, cancellationToken);
        return [.. ids.Where(rows.ContainsKey).Select(id => rows[id])];
    }

    /// <summary>Cosine similarity; 0 when either vector is zero or their lengths differ (another model's embedding).</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length || a.Length == 0)
        {
            return 0;
        }

        double dot = 0, normA = 0, normB = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            normA += (double)a[i] * a[i];
            normB += (double)b[i] * b[i];
        }

        return normA == 0 || normB == 0 ? 0 : dot / Math.Sqrt(normA * normB);
    }
}
