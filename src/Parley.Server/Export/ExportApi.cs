using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Accounts;
using Parley.Server.Conversations;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Export;

/// <summary>
/// Data portability: a conversation as a download (JSON with the whole message tree, or Markdown of the current branch)
/// and every conversation of the caller as one JSON document.
/// </summary>
public static class ExportApi
{
    /// <summary>The <c>format</c> field of an exported conversation document.</summary>
    public const string ConversationFormat = "parley.conversation/1";

    /// <summary>Maps <c>GET /api/conversations/{id}/export</c> and <c>GET /api/users/me/export</c>.</summary>
    public static IEndpointRouteBuilder MapExport(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/conversations/{id:guid}/export", ExportConversation).WithTags("Export").RequireAuthorization()
            .Produces<ConversationExportDto>(StatusCodes.Status200OK, "application/json").Produces(StatusCodes.Status200OK, contentType: "text/markdown")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("ExportConversation")
            .WithSummary("Download a conversation: format=json (default; every message of the tree with parentId) or markdown (the current branch).");
        routes.MapGet("/api/users/me/export", ExportUser).WithTags("Export").RequireAuthorization()
            .RequireRateLimiting(RateLimiting.BulkPolicy).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .Produces<UserExportDto>(StatusCodes.Status200OK, "application/json").ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithName("ExportUser").WithSummary("Download every conversation of the caller as one JSON document.");
        return routes;
    }

    /// <summary>
    /// The caller's conversation as a download (<c>Content-Disposition: attachment</c>): <paramref name="format"/>
    /// <c>json</c> (default) → <see cref="ConversationExportDto"/>; <c>markdown</c> → the current branch as Markdown.
    /// 400 on another format; 404 when the conversation is not the caller's.
    /// </summary>
    public static async Task<Results<FileContentHttpResult, ValidationProblem, ProblemHttpResult>> ExportConversation(
        Guid id, string? format, ClaimsPrincipal principal, ParleyDbContext db, CancellationToken cancellationToken)
    {
        if (format is not (null or "json" or "markdown"))
        {
            return Problems.Field("format", "format must be 'json' or 'markdown'.");
        }

        var userId = principal.UserId();
        var conversation = await db.Conversations.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id && c.UserId == userId, cancellationToken);
        if (conversation is null)
        {
            return Problems.NotFound("conversation");
        }

        var messages = await db.Messages.AsNoTracking().Where(m => m.ConversationId == id).OrderBy(m => m.Sequence).ToListAsync(cancellationToken);
        if (format == "markdown")
        {
            return TypedResults.File(Encoding.UTF8.GetBytes(Markdown(conversation, messages)), "text/markdown; charset=utf-8", $"parley-{id}.md");
        }

        var document = ToExport(conversation, messages);
        return TypedResults.File(JsonSerializer.SerializeToUtf8Bytes(document, ParleyJsonContext.Default.ConversationExportDto), "application/json", $"parley-{id}.json");
    }

    /// <summary>Every conversation of the caller, oldest first, each with its whole tree, as one JSON download.</summary>
    public static async Task<FileContentHttpResult> ExportUser(
        ClaimsPrincipal principal, ParleyDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var conversations = await db.Conversations.AsNoTracking().Where(c => c.UserId == userId)
            .OrderBy(c => c.CreatedAt).ThenBy(c => c.Id).ToListAsync(cancellationToken);
        var messages = (await db.Messages.AsNoTracking()
            .Where(m => db.Conversations.Any(c => c.Id == m.ConversationId && c.UserId == userId))
            .ToListAsync(cancellationToken)).ToLookup(m => m.ConversationId);
        var document = new UserExportDto(time.GetUtcNow().UtcDateTime,
            conversations.ConvertAll(c => ToExport(c, [.. messages[c.Id].OrderBy(m => m.Sequence)])));
        return TypedResults.File(JsonSerializer.SerializeToUtf8Bytes(document, ParleyJsonContext.Default.UserExportDto), "application/json", "parley-export.json");
    }

    private static ConversationExportDto ToExport(Conversation c, List<Message> messages) =>
        new(ConversationFormat, c.Id, c.Title, Utc(c.CreatedAt), Utc(c.UpdatedAt), c.Model, c.SystemPrompt, c.CurrentMessageId,
            messages.ConvertAll(m => MessageDto.From(m)));

    private static string Markdown(Conversation conversation, List<Message> messages)
    {
        var byId = messages.ToDictionary(m => m.Id);
        var branch = new List<Message>();
        for (var id = conversation.CurrentMessageId; id is { } current && byId.TryGetValue(current, out var message); id = message.ParentId)
        {
            branch.Add(message);
        }

        branch.Reverse();
        var text = new StringBuilder();
        text.Append("# ").AppendLine(string.IsNullOrWhiteSpace(conversation.Title) ? "Conversation" : conversation.Title).AppendLine();
        foreach (var message in branch)
        {
            var who = message.Role == "assistant" ? $"Assistant{(message.Model is { } model ? $" ({model})" : "")}" : "User";
            text.Append(CultureInfo.InvariantCulture, $"## {who} — {Utc(message.CreatedAt):yyyy-MM-dd HH:mm:ss} UTC").AppendLine().AppendLine()
                .AppendLine(message.Content).AppendLine();
        }

        return text.ToString();
    }

    private static DateTime Utc(DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc);
}

/// <summary>An exported conversation (<c>format</c> = <c>parley.conversation/1</c>).</summary>
/// <param name="Format">The document's format and version.</param>
/// <param name="Id">The conversation's id.</param>
/// <param name="Title">Its title (null if none).</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="UpdatedAt">Time of the last message (UTC).</param>
/// <param name="Model">The model chosen for it (null: the default).</param>
/// <param name="SystemPrompt">Its system prompt (null: the default).</param>
/// <param name="CurrentMessageId">The leaf of the current branch.</param>
/// <param name="Messages">Every message of the tree in sequence order, each with parentId, role, timestamps, model and usage.</param>
public sealed record ConversationExportDto(
    string Format, Guid Id, string? Title, DateTime CreatedAt, DateTime UpdatedAt, string? Model, string? SystemPrompt,
    Guid? CurrentMessageId, IReadOnlyList<MessageDto> Messages);

/// <summary>Every conversation of a user.</summary>
/// <param name="ExportedAt">When the export was made (UTC).</param>
/// <param name="Conversations">The conversations, oldest first.</param>
public sealed record UserExportDto(DateTime ExportedAt, IReadOnlyList<ConversationExportDto> Conversations);
