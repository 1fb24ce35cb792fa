using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Accounts;
using Parley.Server.Conversations;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Sharing;

/// <summary>Share links: make a read-only snapshot of a conversation's current branch, read it without logging in, list and revoke.</summary>
public static class SharesApi
{
    /// <summary>The most links <c>GET /api/shares</c> lists (newest first).</summary>
    public const int MaxListed = 200;

    /// <summary>Maps <c>POST /api/conversations/{id}/shares</c> and <c>/api/shares/*</c>.</summary>
    public static RouteGroupBuilder MapShares(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/conversations/{id:guid}/shares", Create).WithTags("Shares").RequireAuthorization()
            .RequireRateLimiting(RateLimiting.BulkPolicy).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("CreateShare").WithSummary("Make a share link: a read-only snapshot of the conversation's current branch as it is now.");
        var group = routes.MapGroup("/api/shares").WithTags("Shares").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{shareId}", Get).AllowAnonymous().WithName("GetShare")
            .RequireRateLimiting(RateLimiting.PublicPolicy).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithSummary("Read a shared snapshot (no login needed): its title and messages.");
        group.MapGet("/", List).RequireAuthorization().ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithName("ListShares").WithSummary("List the caller's share links, newest first (at most 200).");
        group.MapDelete("/{shareId}", Delete).RequireAuthorization().ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithName("DeleteShare").WithSummary("Revoke a share link: reading it is a 404 from then on.");
        return group;
    }

    /// <summary>
    /// Snapshots the caller's conversation <paramref name="id"/>: its title and the messages of its current branch (root
    /// to <c>currentMessageId</c>), copied, so later turns, edits and renames do not change the link. 201 with the link;
    /// 404 when the conversation is not the caller's.
    /// </summary>
    public static async Task<Results<Created<ShareDto>, ProblemHttpResult>> Create(
        Guid id, ClaimsPrincipal principal, HttpRequest request, ParleyDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var conversation = await db.Conversations.AsNoTracking().Where(c => c.Id == id && c.UserId == userId)
            .Select(c => new { c.Title, c.CurrentMessageId }).SingleOrDefaultAsync(cancellationToken);
        if (conversation is null)
        {
            return Problems.NotFound("conversation");
        }

        var branch = (await MessageTree.LoadAsync(db, id, cancellationToken)).PathTo(conversation.CurrentMessageId).ConvertAll(n => n.Id);
        var messages = await db.Messages.AsNoTracking().Where(m => m.ConversationId == id && branch.Contains(m.Id))
            .OrderBy(m => m.Sequence)
            .Select(m => new SharedMessageDto(m.Id, m.Role, m.Content, m.CreatedAt, m.Model))
            .ToListAsync(cancellationToken);
        var share = new Share
        {
            Id = Share.NewId(),
            UserId = userId,
            ConversationId = id,
            Title = conversation.Title,
            Messages = JsonSerializer.Serialize(messages.ConvertAll(m => m with { CreatedAt = Utc(m.CreatedAt) }), ParleyJsonContext.Default.ListSharedMessageDto),
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        db.Shares.Add(share);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/shares/{share.Id}", ShareDto.From(share, request));
    }

    /// <summary>Reads a shared snapshot; no authentication. 404 when the link does not exist or was revoked.</summary>
    public static async Task<Results<Ok<SharedConversationDto>, ProblemHttpResult>> Get(
        string shareId, ParleyDbContext db, CancellationToken cancellationToken)
    {
        var share = await db.Shares.AsNoTracking().SingleOrDefaultAsync(s => s.Id == shareId, cancellationToken);
        if (share is null)
        {
            return Problems.NotFound("share");
        }

        var messages = JsonSerializer.Deserialize(share.Messages, ParleyJsonContext.Default.ListSharedMessageDto) ?? [];
        return TypedResults.Ok(new SharedConversationDto(share.Title, messages, Utc(share.CreatedAt)));
    }

    /// <summary>Lists the caller's share links, newest first (at most <see cref="MaxListed"/>).</summary>
    public static async Task<Ok<Page<ShareDto>>> List(
        ClaimsPrincipal principal, HttpRequest request, ParleyDbContext db, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var shares = await db.Shares.AsNoTracking().Where(s => s.UserId == userId)
            .OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id).Take(MaxListed)
            .Select(s => new Share { Id = s.Id, UserId = s.UserId, ConversationId = s.ConversationId, Title = s.Title, Messages = "", CreatedAt = s.CreatedAt })
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new Page<ShareDto>(shares.ConvertAll(s => ShareDto.From(s, request)), null));
    }

    /// <summary>Revokes the caller's link. 204; 404 when it is not the caller's or already revoked.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string shareId, ClaimsPrincipal principal, ParleyDbContext db, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var deleted = await db.Shares.Where(s => s.Id == shareId && s.UserId == userId).ExecuteDeleteAsync(cancellationToken);
        return deleted == 0 ? Problems.NotFound("share") : TypedResults.NoContent();
    }

    internal static DateTime Utc(DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc);
}

/// <summary>A share link.</summary>
/// <param name="Id">The link's id (24 base64url characters, 144 random bits).</param>
/// <param name="Url">The page that shows it without login: <c>{scheme}://{host}/s/{id}</c>.</param>
/// <param name="CreatedAt">When the snapshot was taken (UTC).</param>
/// <param name="ConversationId">The conversation it was taken from.</param>
/// <param name="Title">The conversation's title at that time.</param>
public sealed record ShareDto(string Id, string Url, DateTime CreatedAt, Guid ConversationId, string? Title)
{
    internal static ShareDto From(Share share, HttpRequest request) =>
        new(share.Id, $"{request.Scheme}://{request.Host}{request.PathBase}/s/{share.Id}", SharesApi.Utc(share.CreatedAt), share.ConversationId, share.Title);
}

/// <summary>A shared snapshot as anyone with the link reads it.</summary>
/// <param name="Title">The conversation's title when the link was made (null if it had none).</param>
/// <param name="Messages">The messages of the branch, root first.</param>
/// <param name="CreatedAt">When the snapshot was taken (UTC).</param>
public sealed record SharedConversationDto(string? Title, IReadOnlyList<SharedMessageDto> Messages, DateTime CreatedAt);

/// <summary>A message of a shared snapshot.</summary>
/// <param name="Id">The message's id.</param>
/// <param name="Role"><c>user</c> or <c>assistant</c>.</param>
/// <param name="Content">The text.</param>
/// <param name="CreatedAt">When it was stored (UTC).</param>
/// <param name="Model">Assistant messages: the model that wrote it.</param>
public sealed record SharedMessageDto(Guid Id, string Role, string Content, DateTime CreatedAt, string? Model);
