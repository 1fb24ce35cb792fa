using System.Buffers.Text;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Parley.Engine;
using Parley.Engine.Bots;
using Parley.Server.Accounts;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Conversations;

/// <summary>A conversation as the API shows it.</summary>
/// <param name="Id">Conversation id.</param>
/// <param name="Title">Title: as given, else the start of the first message, else "New conversation".</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="UpdatedAt">Time of the last message (UTC).</param>
/// <param name="MessageCount">Messages stored (user and assistant).</param>
/// <param name="Model">The model that answers (an id of <c>GET /api/models</c>; the default model when the conversation names
/// none or one no longer configured).</param>
/// <param name="SystemPrompt">The conversation's own system prompt; null when it uses <c>Bot:SystemPrompt</c>, empty for none.</param>
public sealed record ConversationDto(
    Guid Id, string Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long MessageCount, string Model, string? SystemPrompt)
{
    /// <summary>The title shown for a conversation that has none yet.</summary>
    public const string DefaultTitle = "New conversation";

    internal static ConversationDto From(Conversation c, BotSettings bot) => new(
        c.Id, c.Title ?? DefaultTitle, Utc(c.CreatedAt), Utc(c.UpdatedAt), c.LastSequence, bot.Resolve(c.Model).Id, c.SystemPrompt);

    internal static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}

/// <summary>A message as the API shows it.</summary>
/// <param name="Id">Message id.</param>
/// <param name="ConversationId">Its conversation.</param>
/// <param name="Sequence">1-based, contiguous position in the conversation.</param>
/// <param name="Role"><c>user</c> or <c>assistant</c>.</param>
/// <param name="Content">The text.</param>
/// <param name="Status"><c>pending</c>, <c>completed</c>, <c>cancelled</c> (client stopped the stream) or <c>failed</c> (bot failed; refunded).</param>
/// <param name="CreatedAt">When it was stored (UTC).</param>
/// <param name="Model">Assistant messages: the model that wrote it; null for user messages.</param>
/// <param name="FinishReason">Assistant messages: <c>stop</c>, <c>length</c> (cut at the model's MaxOutputTokens), <c>cancelled</c>
/// (stopped; partial) or <c>error</c> (the provider failed; partial, refunded); null for user messages.</param>
/// <param name="Usage">Assistant messages: the turn's tokens, from the provider when it reported them, else counted; null for user messages.</param>
public sealed record MessageDto(
    Guid Id, Guid ConversationId, long Sequence, string Role, string Content, string Status, DateTimeOffset CreatedAt,
    string? Model, string? FinishReason, UsageDto? Usage)
{
    internal static MessageDto From(StoredMessage m) =>
        new(m.Id, m.ConversationId, m.Sequence, m.Role, m.Content, m.Status, ConversationDto.Utc(m.CreatedAt),
            m.Model, m.FinishReason, m.Usage is { } u ? new UsageDto(u.PromptTokens, u.CompletionTokens) : null);

    internal static MessageDto From(Message m) =>
        new(m.Id, m.ConversationId, m.Sequence, m.Role, m.Content, m.Status, ConversationDto.Utc(m.CreatedAt),
            m.Model, m.FinishReason, m.PromptTokens is { } p ? new UsageDto(p, m.CompletionTokens ?? 0) : null);
}

/// <summary>Tokens of one turn.</summary>
/// <param name="PromptTokens">Tokens the model read: system prompt, history and the user message.</param>
/// <param name="CompletionTokens">Tokens the model wrote.</param>
public sealed record UsageDto(int PromptTokens, int CompletionTokens);

/// <summary>A page of a list.</summary>
/// <param name="Items">The items of this page.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> to get the next page; null on the last page.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>Body of <c>POST /api/conversations</c>.</summary>
/// <param name="Title">Optional title, at most 200 characters.</param>
/// <param name="Model">Optional model id from <c>GET /api/models</c> (400 on <c>model</c> when unknown); default <c>Bot:DefaultModel</c>.</param>
/// <param name="SystemPrompt">Optional system prompt, at most 8,000 characters; absent: <c>Bot:SystemPrompt</c>; empty: none.</param>
public sealed record CreateConversationRequest(string? Title = null, string? Model = null, string? SystemPrompt = null);

/// <summary>Body of <c>PATCH /api/conversations/{id}</c>: the fields to change (absent or null ones stay as they are; at least one).</summary>
/// <param name="Title">The new title, 1–200 characters.</param>
/// <param name="Model">The model of the next turns, an id from <c>GET /api/models</c>.</param>
/// <param name="SystemPrompt">The system prompt of the next turns, at most 8,000 characters; empty for none.</param>
public sealed record UpdateConversationRequest(string? Title = null, string? Model = null, string? SystemPrompt = null);

/// <summary>Body of <c>POST /api/conversations/{id}/messages</c>.</summary>
/// <param name="Content">The message, 1–32,000 characters (<c>Engine:MaxContentLength</c>), not only whitespace.</param>
/// <param name="ClientMessageId">Optional idempotency key (1–100 characters): a repeated send returns the original turn, uncharged.</param>
public sealed record SendMessageRequest(string? Content, string? ClientMessageId = null);

/// <summary>A finished turn.</summary>
/// <param name="UserMessage">The stored user message.</param>
/// <param name="AssistantMessage">The stored reply.</param>
/// <param name="TokenBalance">The user's balance after the turn.</param>
public sealed record TurnResponse(MessageDto UserMessage, MessageDto AssistantMessage, long TokenBalance);

/// <summary>SSE <c>user</c> event: the user message is stored and charged.</summary>
/// <param name="UserMessage">The stored user message.</param>
/// <param name="TokenBalance">Balance after the charge.</param>
public sealed record UserStoredEvent(MessageDto UserMessage, long TokenBalance);

/// <summary>SSE <c>delta</c> event: a chunk of the reply.</summary>
/// <param name="Text">The chunk.</param>
public sealed record DeltaEvent(string Text);

/// <summary>SSE <c>assistant</c> event: the reply is stored; the turn is acknowledged.</summary>
/// <param name="AssistantMessage">The stored reply.</param>
/// <param name="TokenBalance">Balance after the turn.</param>
public sealed record AssistantStoredEvent(MessageDto AssistantMessage, long TokenBalance);

/// <summary>Conversations and their messages, including sending a turn (JSON or a Server-Sent Events stream).</summary>
public static class ConversationsApi
{
    /// <summary>The name of the per-user rate-limit policy on sends.</summary>
    public const string SendRateLimitPolicy = "messages";

    /// <summary>Maps <c>/api/conversations/*</c>.</summary>
    public static RouteGroupBuilder MapConversations(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/conversations").WithTags("Conversations").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/", List).WithName("ListConversations")
            .WithSummary("List the caller's conversations, newest activity first (keyset pagination).");
        group.MapPost("/", Create).WithName("CreateConversation").WithSummary("Create a conversation.");
        group.MapGet("/{id:guid}", Get).WithName("GetConversation").WithSummary("Get one conversation.");
        group.MapPatch("/{id:guid}", Rename).WithName("RenameConversation")
            .WithSummary("Change a conversation's title, model or system prompt.").ProducesValidationProblem();
        group.MapPost("/{id:guid}/stop", Stop).WithName("StopTurn")
            .WithSummary("Stop the conversation's running turn; its partial reply is stored as cancelled.");
        group.MapDelete("/{id:guid}", Delete).WithName("DeleteConversation").WithSummary("Delete a conversation and its messages.");
        group.MapGet("/{id:guid}/messages", ListMessages).WithName("ListMessages")
            .WithSummary("Page through a conversation's messages; each page is oldest first. from=end starts at the newest page and pages backwards.");
        group.MapPost("/{id:guid}/messages", Send).WithName("SendMessage").RequireRateLimiting(SendRateLimitPolicy)
            .WithSummary("Send a message and get the assistant's reply. With 'Accept: text/event-stream' the turn streams as SSE: 'user', 'delta'…, then 'assistant' (or 'error').")
            .Produces<TurnResponse>(StatusCodes.Status200OK, "application/json", "text/event-stream")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status402PaymentRequired)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);
        return group;
    }

    /// <summary>Lists conversations. <paramref name="limit"/> 1–100 (default 20); <paramref name="cursor"/> from the previous page. 400 on a bad limit or cursor.</summary>
    public static async Task<Results<Ok<Page<ConversationDto>>, ValidationProblem>> List(
        ClaimsPrincipal principal, ParleyDbContext db, BotSettings bot, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        var size = limit ?? 20;
        if (size is < 1 or > 100)
        {
            return Problems.Field("limit", "limit must be between 1 and 100.");
        }

        var userId = principal.UserId();
        var query = db.Conversations.AsNoTracking().Where(c => c.UserId == userId);
        if (cursor is not null)
        {
            if (!TryDecodeListCursor(cursor, out var updatedAt, out var afterId))
            {
                return Problems.Field("cursor", "The cursor is not valid.");
            }

            query = query.Where(c => c.UpdatedAt < updatedAt || (c.UpdatedAt == updatedAt && c.Id.CompareTo(afterId) < 0));
        }

        var rows = await query.OrderByDescending(c => c.UpdatedAt).ThenByDescending(c => c.Id).Take(size + 1).ToListAsync(cancellationToken);
        string? next = null;
        if (rows.Count > size)
        {
            rows.RemoveAt(size);
            next = Encode($"{rows[^1].UpdatedAt.Ticks}:{rows[^1].Id}");
        }

        return TypedResults.Ok(new Page<ConversationDto>(rows.ConvertAll(c => ConversationDto.From(c, bot)), next));
    }

    /// <summary>Creates a conversation. 201; 400 when the title is longer than 200 characters, the model unknown or the system prompt too long.</summary>
    public static async Task<Results<Created<ConversationDto>, ValidationProblem>> Create(
        CreateConversationRequest? body, ClaimsPrincipal principal, ParleyDbContext db, BotSettings bot, TimeProvider time, CancellationToken cancellationToken)
    {
        var title = string.IsNullOrWhiteSpace(body?.Title) ? null : body.Title.Trim();
        if (title is { Length: > 200 })
        {
            return Problems.Field("title", "The title must be at most 200 characters.");
        }

        if (CheckModelAndPrompt(body?.Model, body?.SystemPrompt, bot) is { } invalid)
        {
            return invalid;
        }

        var conversation = await CreateConversationAsync(db, principal.UserId(), title, time, cancellationToken, body?.Model ?? bot.Resolve(null).Id, body?.SystemPrompt);
        return TypedResults.Created($"/api/conversations/{conversation.Id}", ConversationDto.From(conversation, bot));
    }

    /// <summary>400 on <c>model</c> when it is not configured, on <c>systemPrompt</c> when it is longer than 8,000 characters.</summary>
    private static ValidationProblem? CheckModelAndPrompt(string? model, string? systemPrompt, BotSettings bot)
    {
        if (model is not null && !bot.IsKnown(model))
        {
            return Problems.Field("model", $"Unknown model '{(model.Length > 100 ? model[..100] : model)}'; GET /api/models lists the models.");
        }

        return systemPrompt is { Length: > MaxSystemPromptLength }
            ? Problems.Field("systemPrompt", $"The system prompt must be at most {MaxSystemPromptLength} characters.")
            : null;
    }

    /// <summary>Longest system prompt, characters.</summary>
    public const int MaxSystemPromptLength = 8000;

    /// <exception cref="UnknownUserException">The user no longer exists (a valid token outlived its account): 401.</exception>
    internal static async Task<Conversation> CreateConversationAsync(
        ParleyDbContext db, Guid userId, string? title, TimeProvider time, CancellationToken cancellationToken, string? model = null, string? systemPrompt = null)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var conversation = new Conversation
        {
            Id = Guid.CreateVersion7(now), UserId = userId, Title = title, CreatedAt = now, UpdatedAt = now, Model = model, SystemPrompt = systemPrompt,
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
        return conversation is null ? Problems.NotFound("conversation") : TypedResults.Ok(ConversationDto.From(conversation, bot));
    }

    /// <summary>
    /// Changes a conversation's title, model and/or system prompt (the next turn uses the new ones). 200; 400 on an empty or
    /// too long title, an unknown model, a too long system prompt or nothing to change; 404 when not the caller's.
    /// </summary>
    public static async Task<Results<Ok<ConversationDto>, ValidationProblem, ProblemHttpResult>> Rename(
        Guid id, UpdateConversationRequest body, ClaimsPrincipal principal, ParleyDbContext db, BotSettings bot, ConversationEngine engine,
        CancellationToken cancellationToken)
    {
        var title = body.Title?.Trim();
        if ((body.Title is not null || (body.Model is null && body.SystemPrompt is null)) && (string.IsNullOrEmpty(title) || title.Length > 200))
        {
            return Problems.Field("title", "The title must be 1 to 200 characters.");
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
                .SetProperty(x => x.SystemPrompt, x => body.SystemPrompt ?? x.SystemPrompt), cancellationToken);
        if (updated == 0)
        {
            return Problems.NotFound("conversation");
        }

        if (body.Model is not null || body.SystemPrompt is not null)
        {
            engine.Invalidate(id); // the next turn reloads the conversation with its new model and prompt
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
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, ConversationEngine engine, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        if (!await db.Conversations.AnyAsync(c => c.Id == id && c.UserId == userId, cancellationToken))
        {
            return Problems.NotFound("conversation");
        }

        engine.Stop(id);
        return TypedResults.Accepted((string?)null);
    }

    /// <summary>Deletes a conversation with its messages. 204; 404 when not the caller's.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, ConversationEngine engine, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var deleted = await db.Conversations.Where(c => c.Id == id && c.UserId == userId).ExecuteDeleteAsync(cancellationToken);
        engine.Invalidate(id);
        return deleted == 0 ? Problems.NotFound("conversation") : TypedResults.NoContent();
    }

    /// <summary>
    /// Lists messages. <paramref name="limit"/> 1–200 (default 50). <paramref name="from"/> <c>start</c> (default) pages
    /// forward from the first message; <c>end</c> returns the newest page and its cursor pages backwards to older ones.
    /// Items are oldest first in every page. 400 on bad parameters; 404 when not the caller's.
    /// </summary>
    public static async Task<Results<Ok<Page<MessageDto>>, ValidationProblem, ProblemHttpResult>> ListMessages(
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, int? limit, string? cursor, string? from, CancellationToken cancellationToken)
    {
        var size = limit ?? 50;
        if (size is < 1 or > 200)
        {
            return Problems.Field("limit", "limit must be between 1 and 200.");
        }

        bool backward;
        long bound;
        if (cursor is not null)
        {
            if (!TryDecodeMessageCursor(cursor, out backward, out bound))
            {
                return Problems.Field("cursor", "The cursor is not valid.");
            }
        }
        else if (from is null or "start")
        {
            (backward, bound) = (false, 0);
        }
        else if (from == "end")
        {
            (backward, bound) = (true, long.MaxValue);
        }
        else
        {
            return Problems.Field("from", "from must be 'start' or 'end'.");
        }

        // One query: the owner check rides in the page query; only an empty page needs a second look (404 or empty).
        var userId = principal.UserId();
        var owned = db.Messages.AsNoTracking()
            .Where(m => m.ConversationId == id && db.Conversations.Any(c => c.Id == id && c.UserId == userId));
        var rows = backward
            ? await owned.Where(m => m.Sequence < bound).OrderByDescending(m => m.Sequence).Take(size + 1).ToListAsync(cancellationToken)
            : await owned.Where(m => m.Sequence > bound).OrderBy(m => m.Sequence).Take(size + 1).ToListAsync(cancellationToken);
        if (rows.Count == 0 && !await db.Conversations.AnyAsync(c => c.Id == id && c.UserId == userId, cancellationToken))
        {
            return Problems.NotFound("conversation");
        }

        string? next = null;
        if (rows.Count > size)
        {
            rows.RemoveAt(size);
            next = Encode(backward ? $"b:{rows[^1].Sequence}" : $"a:{rows[^1].Sequence}");
        }

        if (backward)
        {
            rows.Reverse();
        }

        return TypedResults.Ok(new Page<MessageDto>(rows.ConvertAll(MessageDto.From), next));
    }

    /// <summary>
    /// Sends a message. 200 with the turn, or an SSE stream when the request accepts <c>text/event-stream</c>. Errors before
    /// the user message is stored are plain problem details: 400 (content), 402 (balance), 404, 409 (clientMessageId reused),
    /// 429 (mailbox full or rate limit), 503. A failure after it (bot failed, 502) is refunded.
    /// </summary>
    public static async Task<IResult> Send(
        Guid id, SendMessageRequest body, ClaimsPrincipal principal, ConversationEngine engine, HttpContext http, CancellationToken cancellationToken)
    {
        if (body.Content is null)
        {
            return Problems.Field("content", "The message content is required.");
        }

        var request = new TurnRequest(principal.UserId(), id, body.Content, body.ClientMessageId);
        if (!AcceptsEventStream(http.Request))
        {
            var result = await engine.SendAndWaitAsync(request, cancellationToken);
            return result.Failure is { } failure
                ? ToProblem(failure)
                : TypedResults.Ok(new TurnResponse(
                    MessageDto.From(result.UserMessage!), MessageDto.From(result.AssistantMessage!), result.TokenBalance ?? 0));
        }

        var events = engine.Send(request, cancellationToken);
        // Until the user message is stored the outcome is an ordinary HTTP status; after it, an event stream.
        await events.WaitToReadAsync(CancellationToken.None);
        if (events.TryPeek(out var first) && first is TurnFailed rejected)
        {
            return ToProblem(rejected);
        }

        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no"; // nginx: do not buffer the stream
        return TypedResults.ServerSentEvents(Stream(events, cancellationToken));
    }

    private static async IAsyncEnumerable<SseItem<object>> Stream(ChannelReader<TurnEvent> events, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var turnEvent in events.ReadAllAsync(cancellationToken))
        {
            yield return turnEvent switch
            {
                UserMessageStored stored => new SseItem<object>(new UserStoredEvent(MessageDto.From(stored.Message), stored.TokenBalance), "user"),
                AssistantDelta delta => new SseItem<object>(new DeltaEvent(delta.Text), "delta"),
                AssistantCompleted done => new SseItem<object>(new AssistantStoredEvent(MessageDto.From(done.Message), done.TokenBalance), "assistant"),
                TurnFailed failed => new SseItem<object>(ToProblemDetails(failed), "error"),
                _ => throw new InvalidOperationException($"Unknown turn event {turnEvent.GetType().Name}."),
            };
        }
    }

    private static bool AcceptsEventStream(HttpRequest request) =>
        request.Headers.Accept.Any(value => value?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true);

    /// <summary>Maps an engine failure to its HTTP problem (status codes in <see cref="TurnError"/>'s docs).</summary>
    internal static IResult ToProblem(TurnFailed failure) => failure.Error == TurnError.InvalidContent
        ? Problems.Field(failure.Detail.Contains("clientMessageId", StringComparison.Ordinal) ? "clientMessageId" : "content", failure.Detail)
        : TypedResults.Problem(ToProblemDetails(failure));

    private static ProblemDetails ToProblemDetails(TurnFailed failure)
    {
        var (status, title) = failure.Error switch
        {
            TurnError.NotFound => (StatusCodes.Status404NotFound, "Not found"),
            TurnError.InsufficientBalance => (StatusCodes.Status402PaymentRequired, "Out of tokens"),
            TurnError.QueueFull => (StatusCodes.Status429TooManyRequests, "Too many queued messages"),
            TurnError.InvalidContent => (StatusCodes.Status400BadRequest, "Invalid message"),
            TurnError.ClientMessageIdReused => (StatusCodes.Status409Conflict, "clientMessageId reused"),
            TurnError.BotFailed => (StatusCodes.Status502BadGateway, "The bot failed"),
            TurnError.BotTimedOut => (StatusCodes.Status504GatewayTimeout, "The bot timed out"),
            TurnError.Cancelled => (StatusCodes.Status499ClientClosedRequest, "Cancelled"),
            _ => (StatusCodes.Status503ServiceUnavailable, "Temporarily unavailable"),
        };
        var problem = new ProblemDetails { Status = status, Title = title, Detail = failure.Detail };
        if (failure.TokenBalance is { } balance)
        {
            problem.Extensions["tokenBalance"] = balance;
        }

        if (failure.Error == TurnError.ClientMessageIdReused)
        {
            problem.Extensions["errors"] = new Dictionary<string, string[]> { ["clientMessageId"] = [failure.Detail] };
        }
        else if (failure.Error == TurnError.InvalidContent)
        {
            problem.Extensions["errors"] = new Dictionary<string, string[]> { ["content"] = [failure.Detail] };
        }

        return problem;
    }

    private static string Encode(string value) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(value));

    private static bool TryDecode(string cursor, out string value)
    {
        value = "";
        if (cursor.Length > 200)
        {
            return false;
        }

        try
        {
            value = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool TryDecodeListCursor(string cursor, out DateTime updatedAt, out Guid id)
    {
        (updatedAt, id) = (default, default);
        if (!TryDecode(cursor, out var value) || value.Split(':') is not [var ticks, var guid]
            || !long.TryParse(ticks, NumberStyles.None, CultureInfo.InvariantCulture, out var t)
            || t < DateTime.MinValue.Ticks || t > DateTime.MaxValue.Ticks || !Guid.TryParse(guid, out id))
        {
            return false;
        }

        updatedAt = new DateTime(t, DateTimeKind.Utc);
        return true;
    }

    private static bool TryDecodeMessageCursor(string cursor, out bool backward, out long sequence)
    {
        (backward, sequence) = (false, 0);
        if (!TryDecode(cursor, out var value) || value.Length < 3 || value[1] != ':' || value[0] is not ('a' or 'b')
            || !long.TryParse(value.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out sequence))
        {
            return false;
        }

        backward = value[0] == 'b';
        return true;
    }
}
