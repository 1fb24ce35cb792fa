using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Parley.Engine.Bots;
using Parley.Server.Accounts;
using Parley.Server.Conversations;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Knowledge;

/// <summary>A document as the API shows it.</summary>
/// <param name="Id">Document id.</param>
/// <param name="Title">Its title.</param>
/// <param name="Bytes">Size of its text in UTF-8 bytes.</param>
/// <param name="Chunks">How many chunks it was split into.</param>
/// <param name="CreatedAt">When it was uploaded (UTC).</param>
public sealed record DocumentDto(Guid Id, string Title, long Bytes, int Chunks, DateTimeOffset CreatedAt)
{
    internal static DocumentDto From(Document d) => new(d.Id, d.Title, d.Bytes, d.ChunkCount, ConversationDto.Utc(d.CreatedAt));
}

/// <summary>A document with its chunks (<c>GET /api/documents/{id}</c>).</summary>
/// <param name="Id">Document id.</param>
/// <param name="Title">Its title.</param>
/// <param name="Bytes">Size of its text in UTF-8 bytes.</param>
/// <param name="CreatedAt">When it was uploaded (UTC).</param>
/// <param name="Chunks">Its chunks' texts, in order (index = <c>chunkIndex</c> of a source).</param>
public sealed record DocumentDetailDto(Guid Id, string Title, long Bytes, DateTimeOffset CreatedAt, IReadOnlyList<string> Chunks);

/// <summary>The user's documents for the retrieval stage: upload (split into chunks and indexed), list, read, delete. Private to their owner.</summary>
public static class DocumentsApi
{
    /// <summary>The most documents <c>GET /api/documents</c> lists (newest first).</summary>
    public const int MaxListed = 500;

    /// <summary>Maps <c>/api/documents</c>.</summary>
    public static RouteGroupBuilder MapDocuments(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/documents").WithTags("Documents").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        group.MapPost("/", Create).WithName("CreateDocument")
            .Produces<DocumentDto>(StatusCodes.Status201Created).ProducesValidationProblem()
            .Accepts<CreateDocumentRequest>("application/json", "multipart/form-data")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .RequireRateLimiting(RateLimiting.BulkPolicy).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .DisableAntiforgery()
            .WithSummary("Upload a plain-text or Markdown document (multipart file, or JSON {title, text}); it is split into chunks and indexed.");
        group.MapGet("/", List).WithName("ListDocuments").WithSummary("List the caller's documents, newest first (at most 500).");
        group.MapGet("/{id:guid}", Get).WithName("GetDocument").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Read one of the caller's documents with its chunks.");
        group.MapDelete("/{id:guid}", Delete).WithName("DeleteDocument").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Delete one of the caller's documents and its chunks.");
        return group;
    }

    /// <summary>
    /// Stores a document: the text is split into chunks (<see cref="DocumentChunker"/>), each indexed for full text (and
    /// embedded with <c>Knowledge:Embeddings</c>), all in one transaction. 201 with the document; 400 on <c>title</c>,
    /// <c>text</c> or <c>file</c> (missing, empty); 413 over <c>Knowledge:MaxBytes</c>; 415 for a binary or PDF file; 502
    /// when the embedding provider fails. Nothing is stored on any error.
    /// </summary>
    public static async Task<IResult> Create(
        HttpRequest request, ClaimsPrincipal principal, ParleyDbContext db, IOptions<KnowledgeOptions> options, BotSettings bot,
        IServiceProvider services, TimeProvider time, CancellationToken cancellationToken)
    {
        IResult? problem = null;
        var upload = await DocumentUpload.ReadAsync(request, options.Value.MaxBytes, p => problem = p, cancellationToken);
        if (upload is not { } document)
        {
            return problem!;
        }

        var settings = options.Value;
        var chunks = new DocumentChunker(bot.Tokens, settings.ChunkTokens, settings.ChunkOverlapTokens).Split(document.Text);
        byte[][]? embeddings = null;
        if (services.GetService<ChunkEmbedder>() is { } embedder)
        {
            try
            {
                embeddings = await embedder.EmbedAsync(chunks, cancellationToken);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                return Problems.Status(StatusCodes.Status502BadGateway, "Embedding failed",
                    "The embedding model provider failed; the document was not stored. Try again later.");
            }
        }

        var now = time.GetUtcNow().UtcDateTime;
        var userId = principal.UserId();
        var row = new Document
        {
            Id = Guid.CreateVersion7(now), UserId = userId, Title = document.Title, Bytes = Encoding.UTF8.GetByteCount(document.Text),
            ChunkCount = chunks.Count, CreatedAt = now,
        };
        db.Add(row);
        for (var i = 0; i < chunks.Count; i++)
        {
            db.Add(new DocumentChunk
            {
                DocumentId = row.Id, UserId = userId, ChunkIndex = i, Text = chunks[i], TokenCount = bot.Tokens.Count(chunks[i]),
                Embedding = embeddings?[i],
            });
        }

        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/documents/{row.Id}", DocumentDto.From(row));
    }

    /// <summary>The caller's documents, newest first (at most <see cref="MaxListed"/>). 200.</summary>
    public static async Task<Ok<List<DocumentDto>>> List(ClaimsPrincipal principal, ParleyDbContext db, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var documents = await db.Set<Document>().AsNoTracking().Where(d => d.UserId == userId)
            .OrderByDescending(d => d.CreatedAt).ThenByDescending(d => d.Id).Take(MaxListed).ToListAsync(cancellationToken);
        return TypedResults.Ok(documents.ConvertAll(DocumentDto.From));
    }

    /// <summary>One of the caller's documents with its chunks. 200; 404 when it is not the caller's.</summary>
    public static async Task<Results<Ok<DocumentDetailDto>, ProblemHttpResult>> Get(
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var document = await db.Set<Document>().AsNoTracking().SingleOrDefaultAsync(d => d.Id == id && d.UserId == userId, cancellationToken);
        if (document is null)
        {
            return Problems.NotFound("document");
        }

        var chunks = await db.Set<DocumentChunk>().AsNoTracking().Where(c => c.DocumentId == id).OrderBy(c => c.ChunkIndex)
            .Select(c => c.Text).ToListAsync(cancellationToken);
        return TypedResults.Ok(new DocumentDetailDto(document.Id, document.Title, document.Bytes, ConversationDto.Utc(document.CreatedAt), chunks));
    }

    /// <summary>Deletes one of the caller's documents; its chunks go with it (cascade). 204; 404 when it is not the caller's.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        return await db.Set<Document>().Where(d => d.Id == id && d.UserId == userId).ExecuteDeleteAsync(cancellationToken) == 0
            ? Problems.NotFound("document")
            : TypedResults.NoContent();
    }
}
