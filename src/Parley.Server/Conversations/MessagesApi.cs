using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Parley.Engine;
using Parley.Server.Accounts;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Conversations;

/// <summary>A conversation's messages and turns: list the messages, send one (JSON or a Server-Sent Events stream), follow the running turn.</summary>
public static class MessagesApi
{
    /// <summary>Maps <c>/api/conversations/{id}/messages</c> and <c>/api/conversations/{id}/stream</c> on the conversations group.</summary>
    internal static void MapMessages(this RouteGroupBuilder group)
    {
        group.MapGet("/{id:guid}/messages", ListMessages).WithName("ListMessages")
            .WithSummary("Page through a conversation's current branch (view=tree: every message); each page is oldest first. from=end starts at the newest page and pages backwards.");
        group.MapPost("/{id:guid}/messages", Send).WithName("SendMessage").RequireMessageRateLimit()
            .WithSummary("Send a message and get the assistant's reply. With 'Accept: text/event-stream' the turn streams as SSE: 'user', 'delta'…, then 'assistant' (or 'error'). parentId makes it an edit (a sibling of an earlier user message).")
            .ProducesTurnProblems();
        group.MapPost("/{id:guid}/messages/{messageId:guid}/regenerate", Regenerate).WithName("RegenerateMessage").RequireMessageRateLimit()
            .WithSummary("Write a new version of an assistant message (a sibling, from the same context). With 'Accept: text/event-stream' it streams as SSE: 'delta'…, then 'assistant' (or 'error').")
            .ProducesTurnProblems();
        group.MapGet("/{id:guid}/stream", Follow).WithName("FollowTurn")
            .WithSummary("Follow the conversation's running turn as SSE ('Accept: text/event-stream'): the events after Last-Event-ID (or from the start of the turn), then live ones to the final 'assistant' (or 'error'). 204 when no turn is running.")
            .ProducesProblem(StatusCodes.Status406NotAcceptable);
    }

    /// <summary>The problems a turn can end in before its stream starts (the signature cannot name a problem's status).</summary>
    internal static RouteHandlerBuilder ProducesTurnProblems(this RouteHandlerBuilder endpoint) => endpoint
        .ProducesProblem(StatusCodes.Status402PaymentRequired)
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status429TooManyRequests)
        .ProducesProblem(StatusCodes.Status502BadGateway)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
        .ProducesProblem(StatusCodes.Status504GatewayTimeout);

    /// <summary>
    /// Lists messages: the current branch, root to current message (default), or with <paramref name="view"/> <c>tree</c>
    /// every message of the conversation; each with its <c>parentId</c> and <c>siblingIds</c>. <paramref name="limit"/>
    /// 1–200 (default 50). <paramref name="from"/> <c>start</c> (default) pages forward from the first message; <c>end</c>
    /// returns the newest page and its cursor pages backwards to older ones. Items are oldest first in every page. 400 on
    /// bad parameters; 404 when not the caller's.
    /// </summary>
    public static async Task<Results<Ok<Page<MessageDto>>, ValidationProblem, ProblemHttpResult>> ListMessages(
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, MessageTrees trees, int? limit, string? cursor, string? from, string? view,
        CancellationToken cancellationToken)
    {
        var size = limit ?? 50;
        if (size is < 1 or > 200)
        {
            return Problems.Field("limit", "limit must be between 1 and 200.");
        }

        if (view is not (null or "branch" or "tree"))
        {
            return Problems.Field("view", "view must be 'branch' or 'tree'.");
        }

        bool backward;
        long bound;
        if (cursor is not null)
        {
            if (!Cursors.TryDecodeMessage(cursor, out backward, out bound))
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

        var userId = principal.UserId();
        var current = await db.Conversations.Where(c => c.Id == id && c.UserId == userId)
            .Select(c => new { c.CurrentMessageId, c.LastSequence }).SingleOrDefaultAsync(cancellationToken);
        if (current is null)
        {
            return Problems.NotFound("conversation");
        }

        // The shape of the tree (no content), then the page's rows. Sequences grow along every branch, so both views page by sequence.
        var tree = await trees.GetAsync(db, id, current.LastSequence, cancellationToken);
        var listed = view == "tree" ? tree.Ordered : tree.PathTo(current.CurrentMessageId);
        List<Node> page;
        if (backward)
        {
            var end = bound == long.MaxValue ? listed.Count : MessageTree.IndexAtOrAfter(listed, bound); // sequences < bound
            var start = Math.Max(0, end - size - 1);
            page = listed.GetRange(start, end - start);
            page.Reverse();
        }
        else
        {
            var start = bound == long.MaxValue ? listed.Count : MessageTree.IndexAtOrAfter(listed, bound + 1); // sequences > bound
            page = listed.GetRange(start, Math.Min(size + 1, listed.Count - start));
        }

        string? next = null;
        if (page.Count > size)
        {
            page.RemoveAt(size);
            next = Cursors.Message(backward, page[^1].Sequence);
        }

        if (backward)
        {
            page.Reverse();
        }

        var ids = page.ConvertAll(n => n.Id);
        var rows = await db.Messages.AsNoTracking().Where(m => m.ConversationId == id && ids.Contains(m.Id)).ToDictionaryAsync(m => m.Id, cancellationToken);
        var items = page.Where(n => rows.ContainsKey(n.Id)).Select(n => MessageDto.From(rows[n.Id], tree.SiblingsOf(n))).ToList();
        return TypedResults.Ok(new Page<MessageDto>(items, next));
    }

    /// <summary>
    /// Sends a message. 200 with the turn, or an SSE stream when the request accepts <c>text/event-stream</c>. Errors before
    /// the user message is stored are plain problem details: 400 (content), 402 (balance), 404, 409 (clientMessageId reused),
    /// 429 (mailbox full or rate limit), 503. A failure after it (bot failed, 502) is refunded.
    /// </summary>
    public static async Task<Results<Ok<TurnResponse>, ServerSentEventsResult<object>, ValidationProblem, ProblemHttpResult>> Send(
        Guid id, SendMessageRequest body, ClaimsPrincipal principal, ConversationClient engine, HttpContext http, CancellationToken cancellationToken)
    {
        var parent = !body.HasParentId ? TurnParent.Current : body.ParentId is null ? TurnParent.Root : TurnParent.Message;
        var request = new TurnRequest(principal.UserId(), id, body.Content!, body.ClientMessageId, parent, body.ParentId); // Content: [Required]
        if (!TurnStreams.AcceptsEventStream(http.Request))
        {
            var result = await engine.SendAndWaitAsync(request, cancellationToken);
            return result.Failure is { } failure
                ? TurnProblems.ToResult(failure, http)
                : TypedResults.Ok(new TurnResponse(
                    MessageDto.From(result.UserMessage!), MessageDto.From(result.AssistantMessage!), result.TokenBalance ?? 0));
        }

        var events = engine.Send(request, cancellationToken);
        return await TurnStreams.RejectionAsync(events, http) is { } rejected
            ? rejected
            : TurnStreams.Respond(events, http, cancellationToken);
    }

    /// <summary>
    /// Regenerates an assistant message: the bot writes a new sibling of it from the same context (the branch up to the user
    /// message it answers), which becomes the current message. Queued behind a running turn, charged like any reply (once
    /// stored; a bot failure stores and charges nothing), idempotent with <c>clientMessageId</c>. 200 with the reply, or an
    /// SSE stream (<c>delta</c>…, <c>assistant</c> or <c>error</c>) when the request accepts <c>text/event-stream</c>. 400 when
    /// the message is not an assistant reply; 402; 404 when the conversation or message is not the caller's; 409; 429; 502; 503.
    /// </summary>
    public static async Task<Results<Ok<RegenerateResponse>, ServerSentEventsResult<object>, ValidationProblem, ProblemHttpResult>> Regenerate(
        Guid id, Guid messageId, RegenerateRequest? body, ClaimsPrincipal principal, ConversationClient engine, HttpContext http, CancellationToken cancellationToken)
    {
        var request = new TurnRequest(principal.UserId(), id, "", body?.ClientMessageId, RegenerateOf: messageId);
        if (!TurnStreams.AcceptsEventStream(http.Request))
        {
            var result = await engine.SendAndWaitAsync(request, cancellationToken);
            return result.Failure is { } failure
                ? TurnProblems.ToResult(failure, http)
                : TypedResults.Ok(new RegenerateResponse(MessageDto.From(result.AssistantMessage!), result.TokenBalance ?? 0));
        }

        var events = engine.Send(request, cancellationToken);
        return await TurnStreams.RejectionAsync(events, http) is { } rejected
            ? rejected
            : TurnStreams.Respond(events, http, cancellationToken);
    }

    /// <summary>
    /// Follows the conversation's running turn as Server-Sent Events, from any node (the events come from the conversation's
    /// grain wherever it lives): replays the turn's events after the <c>Last-Event-ID</c> header (from the start of the turn
    /// without one, or with an id of another turn) and then the live ones, to the final <c>assistant</c> (or <c>error</c>)
    /// event. The deltas' texts concatenated are exactly the stored reply. 204 when no turn is running (the reply, if any, is
    /// in the messages); 400 on a malformed <c>Last-Event-ID</c>; 404 when not the caller's; 406 without
    /// <c>Accept: text/event-stream</c>. Leaving does not stop the turn.
    /// </summary>
    public static async Task<Results<ServerSentEventsResult<object>, NoContent, ValidationProblem, ProblemHttpResult>> Follow(
        Guid id, ClaimsPrincipal principal, ParleyDbContext db, ConversationClient engine, HttpContext http, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        if (!await db.Conversations.AnyAsync(c => c.Id == id && c.UserId == userId, cancellationToken))
        {
            return Problems.NotFound("conversation");
        }

        if (!TurnStreams.AcceptsEventStream(http.Request))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status406NotAcceptable, title: "Not acceptable",
                detail: "This endpoint serves 'text/event-stream' only.");
        }

        var lastEventId = http.Request.Headers["Last-Event-ID"].ToString();
        if (lastEventId.Length == 0)
        {
            lastEventId = null;
        }
        else if (!TurnBuffer.TryParseId(lastEventId, out _, out _))
        {
            return Problems.Field("Last-Event-ID", "The Last-Event-ID header must be an event id of this API ('{sequence}.{n}').");
        }

        var events = await engine.FollowAsync(id, lastEventId, cancellationToken);
        if (events is null)
        {
            return TypedResults.NoContent();
        }

        TurnStreams.PrepareResponse(http.Response);
        return TypedResults.ServerSentEvents(TurnStreams.Stream(events, cancellationToken, http.Response));
    }
}
