using System.ComponentModel.DataAnnotations;

namespace Parley.Server.Knowledge;

/// <summary>The <c>Knowledge</c> section: the user's documents and the retrieval stage; validated at start (a value out of range stops the server).</summary>
public sealed class KnowledgeOptions : IValidatableObject
{
    /// <summary>The largest document text, in UTF-8 bytes: 1 KB – 64 MB, default 1 MB. A larger upload is a 413 and nothing is stored.</summary>
    [Range(1024, 64L * 1024 * 1024, ErrorMessage = "Knowledge:MaxBytes must be between {1} and {2}.")]
    public long MaxBytes { get; set; } = 1024 * 1024;

    /// <summary>Target size of a chunk in tokens (o200k_base, the engine's counter): 32–8,000, default 300.</summary>
    [Range(32, 8000, ErrorMessage = "Knowledge:ChunkTokens must be between {1} and {2}.")]
    public int ChunkTokens { get; set; } = 300;

    /// <summary>Tokens of a chunk's end repeated at the start of the next one (whole words): 0 to half of <see cref="ChunkTokens"/>, default 30.</summary>
    [Range(0, 4000, ErrorMessage = "Knowledge:ChunkOverlapTokens must be between {1} and {2}.")]
    public int ChunkOverlapTokens { get; set; } = 30;

    /// <summary>How many chunks the retrieval stage puts into a prompt at most: 1–50, default 4.</summary>
    [Range(1, 50, ErrorMessage = "Knowledge:TopK must be between {1} and {2}.")]
    public int TopK { get; set; } = 4;

    /// <summary>
    /// An embedding model of the configured provider (<c>Bot:Provider</c> openai or ollama, e.g. <c>text-embedding-3-small</c>,
    /// <c>nomic-embed-text</c>): chunks are embedded at upload and ranked by cosine similarity to the message
    /// (<see cref="EmbeddingRetriever"/>). Null or empty (default): full-text ranking (<see cref="FullTextRetriever"/>).
    /// </summary>
    [MaxLength(200, ErrorMessage = "Knowledge:Embeddings must be at most {1} characters.")]
    public string? Embeddings { get; set; }

    /// <summary>True when <see cref="Embeddings"/> names a model.</summary>
    public bool UsesEmbeddings => !string.IsNullOrWhiteSpace(Embeddings);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ChunkOverlapTokens > ChunkTokens / 2)
        {
            yield return new ValidationResult("Knowledge:ChunkOverlapTokens must be at most half of Knowledge:ChunkTokens.", [nameof(ChunkOverlapTokens)]);
        }
    }
}
