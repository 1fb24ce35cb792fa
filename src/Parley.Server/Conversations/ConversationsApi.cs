using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Parley.Engine;
using Parley.Engine.Bots;
using Parley.Server.Accounts;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Conversations;

/// <summary>Conversations: list, create, read, change, stop and delete (their messages and turns: <see cref="MessagesApi"/>).</summary>
public static class ConversationsApi
{
    /// <summary>Maps <c>/api/conversations/*</c>.</summary>
    public static RouteGroupBuilder MapConversations(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/conversations").WithTags("Conversations").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/", List).WithName("ListConversations")
            .WithSummary("List the caller's conversations, pinned first, then newest activity first (keyset pagination); archived=true lists the archived ones.");
        group.MapPost("/", Create).WithName("CreateConversation").WithSummary("Create a conversation.");
        group.MapGet("/{id:guid}", Get).WithName("GetConversation").WithSummary("Get one conversation.");
        group.MapPatch("/{id:guid}", Rename).WithName("RenameConversation")
            .WithSummary("Change a conversation's title, model, system prompt, pinned or archived.");
        group.MapPost("/{id:guid}/stop", Stop).WithName("StopTurn")
            .WithSummary("Stop the conversation's running turn; its partial reply is stored as cancelled.");
        group.MapDelete("/{id:guid}", Delete).WithName("DeleteConversation").WithSummary("Delete a conversation and its messages.");
        group.MapMessages();
        group.MapBranches();
        return group;
    }

    /// <summary>
    /// Lists conversations, pinned ones first, then by newest activity. Archived ones are left out; <paramref name="archived"/>
    /// <c>true</c> lists only them (the "Archived" view). <paramref name="limit"/> 1–100 (default 20); <paramref name="cursor"/>
    /// from the previous page. 400 on a bad limit or cursor.
    /// </summary>
    public static async Task<Results<Ok<Page<ConversationDto>>, ValidationProblem>> List(
        ClaimsPrincipal principal, ParleyDbContext db, BotSettings bot, int? limit, string? cursor, bool? archived, CancellationToken cancellationToken)
    {
        var size = limit ?? 20;
        if (size is < 1 or > 100)
        {
            return Problems.Field("limit", "limit must be between 1 and 100.");
        }

        var userId = principal.UserId();
        var showArchived = archived == true;
        var query = db.Conversations.AsNoTracking().Where(c => c.UserId == userId && c.Archived == showArchived);
        if (cursor is not null)
        {
            if (!Cursors.TryDecodeConversation(cursor, out var pinned, out var updatedAt, out var afterId))
            {
                return Problems.Field("cursor", "The cursor is not valid.");
            }

            // After (pinned, updatedAt, id) in (pinned desc, updatedAt desc, id desc) order.
            query = pinned
                ? query.Where(c => !c.Pinned || c.UpdatedAt < updatedAt || (c.UpdatedAt == updatedAt && c.Id.CompareTo(afterId) < 0))
                : query.Where(c => !c.Pinned && (c.UpdatedAt < updatedAt || (c.UpdatedAt == updatedAt && c.Id.CompareTo(afterId) < 0)));
        }

        var rows = await query.OrderByDescending(c => c.Pinned).ThenByDescending(c => c.UpdatedAt).ThenByDescending(c => c.Id)
            .Take(size + 1).ToListAsync(cancellationToken);
        string? next = null;
        if (rows.Count > size)
        {
            rows.RemoveAt(size);
            next = Cursors.Conversation(rows[^1].Pinned, rows[^1].UpdatedAt, rows[^1].Id);
        }

        var active = await ActiveTurnsAsync(db, rows.ConvertAll(c => c.Id), cancellationToken);
        return TypedResults.Ok(new Page<ConversationDto>(rows.ConvertAll(c => ConversationDto.From(c, bot, active.GetValueOrDefault(c.Id))), next));
    }

    /// <summary>Creates a conversation. 201; 400 when the title is longer than 200 characters, the model unknown or the system prompt too long.</summary>
    public static async Task<Results<Created<ConversationDto>, ValidationProblem>> Create(
        CreateConversationRequest? body, ClaimsPrincipal principal, ParleyDbContext db, BotSettings bot, TimeProvider time, CancellationToken cancellationToken)
    {
        var title = string.IsNullOrWhiteSpace(body?.Title) ? null : body.Title.Trim();
        if (title is { Length: > ConversationRules.MaxTitleLength })
        {
            return Problems.Field("title", ConversationRules.TitleTooLong);
        }

        if (CheckModelAndPrompt(body?.Model, body?.SystemPrompt, bot) is { } invalid)
        {
            return invalid;
        }

        var conversation = await CreateConversationAsync(db, principal.UserId(), title, time, cancellationToken, body?.Model ?? bot.Resolve(null).Id, body?.SystemPrompt,
            body?.UseDocuments ?? false);
        return TypedResults.Created($"/api/conversations/{conversation.Id}", ConversationDto.From(conversation, bot));
    }

    /// <summary>400 on <c>model</c> when it is not configured, on <c>systemPrompt</c> when it is longer than 8,000 characters.</summary>
    private static ValidationProblem? CheckModelAndPrompt(string? model, string? systemPrompt, BotSettings bot)
    {
        if (model is not null && !bot.IsKnown(model))
        {
            return Problems.Field("model", $"Unknown model '{(model.Length > 100 ? model[..100] : model)}'; GET /api/models lists the models.");
        }

        return systemPrompt is { Length: > ConversationRules.MaxSystemPromptLength }
            ? Problems.Field("systemPrompt", ConversationRules.SystemPromptTooLong)
            : null;
    }

    /// <exception cref="UnknownUserException">The user no longer exists (a valid token outlived its account): 401.</exception>
    internal static async Task<Conversation> CreateConversationAsync(
        ParleyDbContext db, Guid userId, string? title, TimeProvider time, CancellationToken cancellationToken, string? model = null, string? systemPrompt = null,
        bool useDocuments = false)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var conversation = new Conversation
        {
            Id = Guid.CreateVersion7(now), UserId = userId, Title = title, CreatedAt = now, UpdatedAt = now, Model = model, SystemPrompt = systemPrompt,
            UseDocuments = useDocuments,
        };
        db.Conversations.Add(conversation);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            if (!await db.Users.AnyAsync(u => u.Id == userId, cancellationToken))
            {
                throw new UnknownUserException(); // the foreign key to the user failed
            }

            throw;
        }

        return conversation;
    }

    /// <summary>Gets a conversation. 404 when it does not exist or is another user's.</summary>
    public static async Task<Results<Ok<ConversationDto>, ProblemHttpResult>> Get(
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, BotSettings bot, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var conversation = await db.Conversations.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id && c.UserId == userId, cancellationToken);
        return conversation is null
            ? Problems.NotFound("conversation")
            : TypedResults.Ok(ConversationDto.From(conversation, bot, (await ActiveTurnsAsync(db, [id], cancellationToken)).GetValueOrDefault(id)));
    }

    /// <summary>The running turns (pending user messages) of some conversations.</summary>
    internal static async Task<Dictionary<Guid, ActiveTurnDto>> ActiveTurnsAsync(ParleyDbContext db, List<Guid> ids, CancellationToken cancellationToken)
    {
        // A pending user message is the conversation's last one: one index lookup per conversation.
        var pending = await (
                from c in db.Conversations.Where(c => ids.Contains(c.Id))
                join m in db.Messages on new { ConversationId = c.Id, Sequence = c.LastSequence } equals new { m.ConversationId, m.Sequence }
                where m.Status == MessageStatuses.Pending
                select new { m.ConversationId, m.Id, m.CreatedAt })
            .AsNoTracking().ToListAsync(cancellationToken);
        return pending.ToDictionary(m => m.ConversationId, m => new ActiveTurnDto(m.Id, ConversationDto.Utc(m.CreatedAt)));
    }

    /// <summary>
    /// Changes a conversation's title, model, system prompt, pinned and/or archived (the next turn uses the new model and prompt). 200; 400 on an empty or
    /// too long title, an unknown model, a too long system prompt or nothing to change; 404 when not the caller's.
    /// </summary>
    public static async Task<Results<Ok<ConversationDto>, ValidationProblem, ProblemHttpResult>> Rename(
        Guid id, UpdateConversationRequest body, ClaimsPrincipal principal, ParleyDbContext db, BotSettings bot, ConversationClient engine,
        CancellationToken cancellationToken)
    {
        var title = body.Title?.Trim();
        var nothingElse = body is { Model: null, SystemPrompt: null, Pinned: null, Archived: null, UseDocuments: null };
        if ((body.Title is not null || nothingElse) && (string.IsNullOrEmpty(title) || title.Length > ConversationRules.MaxTitleLength))
        {
            return Problems.Field("title", $"The title must be 1 to {ConversationRules.MaxTitleLength} characters.");
        }

        if (CheckModelAndPrompt(body.Model, body.SystemPrompt, bot) is { } invalid)
        {
            return invalid;
        }

        var userId = principal.UserId();
        var updated = await db.Conversations.Where(c => c.Id == id && c.UserId == userId)
            .ExecuteUpdateAsync(c => c
                .SetProperty(x => x.Title, x => title ?? x.Title)
                .SetProperty(x => x.Model, x => body.Model ?? x.Model)
                .SetProperty(x => x.SystemPrompt, x => body.SystemPrompt ?? x.SystemPrompt)
                .SetProperty(x => x.Pinned, x => body.Pinned ?? x.Pinned)
                .SetProperty(x => x.Archived, x => body.Archived ?? x.Archived)
                .SetProperty(x => x.UseDocuments, x => body.UseDocuments ?? x.UseDocuments), cancellationToken);
        if (updated == 0)
        {
            return Problems.NotFound("conversation");
        }

        if (body.Model is not null || body.SystemPrompt is not null || body.UseDocuments is not null)
        {
            await engine.InvalidateAsync(id); // the next turn reloads the conversation with its new model, prompt and retrieval setting
        }

        // A delete may have removed it since the update.
        var conversation = await db.Conversations.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (conversation is null)
        {
            return Problems.NotFound("conversation");
        }

        return TypedResults.Ok(ConversationDto.From(conversation, bot));
    }

    /// <summary>
    /// Stops the conversation's running turn, from any tab: the model request is cancelled and the partial reply stored with
    /// finish reason <c>cancelled</c> (the turn's own stream then ends with its <c>assistant</c> event). 202 whether or not a
    /// turn was running; 404 when not the caller's.
    /// </summary>
    public static async Task<Results<Accepted, ProblemHttpResult>> Stop(
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, ConversationClient engine, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        if (!await db.Conversations.AnyAsync(c => c.Id == id && c.UserId == userId, cancellationToken))
        {
            return Problems.NotFound("conversation");
        }

        await engine.StopAsync(id);
        return TypedResults.Accepted((string?)null);
    }

    /// <summary>Deletes a conversation with its messages. 204; 404 when not the caller's.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, ConversationClient engine, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var deleted = await db.Conversations.Where(c => c.Id == id && c.UserId == userId).ExecuteDeleteAsync(cancellationToken);
        if (deleted == 0)
        {
            return Problems.NotFound("conversation");
        }

        await engine.InvalidateAsync(id);
        return TypedResults.NoContent();
    }
}
