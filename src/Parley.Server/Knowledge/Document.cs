using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Parley.Server.Data;

namespace Parley.Server.Knowledge;

/// <summary>A document a user uploaded for the retrieval stage; its text lives in its <see cref="DocumentChunk"/>s. Private to its owner.</summary>
public sealed class Document
{
    /// <summary>Document id (UUID v7).</summary>
    public Guid Id { get; set; }

    /// <summary>The owner; deleting the user deletes the document.</summary>
    public Guid UserId { get; set; }

    /// <summary>The title: as given, else the uploaded file's name (1–200 characters).</summary>
    public required string Title { get; set; }

    /// <summary>Size of the text in UTF-8 bytes.</summary>
    public long Bytes { get; set; }

    /// <summary>How many chunks the text was split into.</summary>
    public int ChunkCount { get; set; }

    /// <summary>When it was uploaded (UTC).</summary>
    public DateTime CreatedAt { get; set; }
}

/// <summary>
/// One chunk of a <see cref="Document"/>, full-text indexed like messages (SQLite FTS5 table <c>DocumentChunkSearch</c>;
/// PostgreSQL generated column <c>SearchVector</c> with GIN, configuration <c>parley_search</c>; migration <c>Knowledge</c>).
/// </summary>
public sealed class DocumentChunk
{
    /// <summary>Row id (on SQLite the rowid the FTS5 table is keyed by).</summary>
    public long Id { get; set; }

    /// <summary>The document; deleting it deletes its chunks.</summary>
    public Guid DocumentId { get; set; }

    /// <summary>The owner (copied from the document so retrieval filters on one table).</summary>
    public Guid UserId { get; set; }

    /// <summary>Position in the document, from 0.</summary>
    public int ChunkIndex { get; set; }

    /// <summary>The text.</summary>
    public required string Text { get; set; }

    /// <summary>Tokens of <see cref="Text"/> (o200k_base).</summary>
    public int TokenCount { get; set; }

    /// <summary>With <c>Knowledge:Embeddings</c>: the chunk's embedding, little-endian float32s; null otherwise.</summary>
    public byte[]? Embedding { get; set; }
}

/// <summary>The tables of <see cref="Document"/> and <see cref="DocumentChunk"/>: owner indexes and cascades.</summary>
public sealed class DocumentConfiguration : IEntityTypeConfiguration<Document>, IEntityTypeConfiguration<DocumentChunk>
{
    /// <summary>The longest title.</summary>
    public const int MaxTitleLength = 200;

    /// <inheritdoc />
    public void Configure(EntityTypeBuilder<Document> document)
    {
        document.Property(d => d.Title).HasMaxLength(MaxTitleLength);
        document.HasIndex(d => new { d.UserId, d.CreatedAt });
        document.HasOne<User>().WithMany().HasForeignKey(d => d.UserId).OnDelete(DeleteBehavior.Cascade);
    }

    /// <inheritdoc />
    public void Configure(EntityTypeBuilder<DocumentChunk> chunk)
    {
        chunk.HasIndex(c => new { c.DocumentId, c.ChunkIndex }).IsUnique();
        chunk.HasIndex(c => c.UserId);
        chunk.HasOne<Document>().WithMany().HasForeignKey(c => c.DocumentId).OnDelete(DeleteBehavior.Cascade);
    }
}
