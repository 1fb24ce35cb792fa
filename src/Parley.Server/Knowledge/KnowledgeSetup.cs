using Microsoft.Extensions.Options;
using Parley.Engine.Bots;
using Parley.Server.Models;

namespace Parley.Server.Knowledge;

/// <summary>Registers the documents feature: <c>Knowledge:*</c> options, the <see cref="IRetriever"/> and the engine's retrieval stage.</summary>
public static class KnowledgeSetup
{
    /// <summary>
    /// Binds and validates <c>Knowledge</c> (out of range, or <c>Knowledge:Embeddings</c> with the echo bot, stops the server
    /// at start); registers <see cref="FullTextRetriever"/>, or <see cref="EmbeddingRetriever"/> with its
    /// <see cref="ChunkEmbedder"/> when <c>Knowledge:Embeddings</c> names a model; and <see cref="DocumentAugmenter"/> as the
    /// engine's <see cref="IPromptAugmenter"/>.
    /// </summary>
    public static IServiceCollection AddParleyKnowledge(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KnowledgeOptions>().BindConfiguration("Knowledge").ValidateDataAnnotations()
            .Validate<IOptions<BotOptions>>((knowledge, bot) => !knowledge.UsesEmbeddings || !bot.Value.IsEcho,
                "Knowledge:Embeddings needs Bot:Provider openai or ollama (the echo bot has no embedding model).")
            .ValidateOnStart();
        var embeddings = configuration["Knowledge:Embeddings"];
        if (string.IsNullOrWhiteSpace(embeddings))
        {
            services.AddScoped<IRetriever, FullTextRetriever>();
        }
        else
        {
            services.AddSingleton(sp => new ChunkEmbedder(ChunkEmbedder.Create(sp, embeddings)));
            services.AddScoped<IRetriever, EmbeddingRetriever>();
        }

        services.AddSingleton<IPromptAugmenter, DocumentAugmenter>();
        return services;
    }
}

/// <summary>The engine's retrieval stage over the user's documents: the top <c>Knowledge:TopK</c> chunks of the <see cref="IRetriever"/>.</summary>
public sealed class DocumentAugmenter(IServiceScopeFactory scopes, IOptions<KnowledgeOptions> options) : IPromptAugmenter
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<DocumentExcerpt>> FindExcerptsAsync(Guid userId, string userText, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var chunks = await scope.ServiceProvider.GetRequiredService<IRetriever>().RetrieveAsync(userText, userId, options.Value.TopK, cancellationToken);
        return [.. chunks.Select(c => new DocumentExcerpt(new MessageSource(c.DocumentId, c.Title, c.ChunkIndex), c.Text))];
    }
}
