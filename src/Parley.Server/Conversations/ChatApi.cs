using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Parley.Engine;
using Parley.Server.Accounts;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Conversations;

/// <summary>Body of <c>POST /api/chat</c>.</summary>
/// <param name="Message">The message, 1–32,000 characters.</param>
/// <param name="ConversationId">The conversation to continue; when absent a new one is created.</param>
public sealed record ChatRequest(string? Message, Guid? ConversationId = null);

/// <summary>Response of <c>POST /api/chat</c>.</summary>
/// <param name="ConversationId">The conversation (new or given).</param>
/// <param name="UserMessage">The stored user message.</param>
/// <param name="AssistantMessage">The stored reply.</param>
/// <param name="TokenBalance">Balance after the turn.</param>
public sealed record ChatResponse(Guid ConversationId, MessageDto UserMessage, MessageDto AssistantMessage, long TokenBalance);

/// <summary>The one-call chat endpoint, compatible with the seed implementations.</summary>
public static class ChatApi
{
    /// <summary>Maps <c>POST /api/chat</c>.</summary>
    public static RouteHandlerBuilder MapChat(this IEndpointRouteBuilder routes) =>
        routes.MapPost("/api/chat", Chat).WithTags("Conversations").WithName("Chat").RequireAuthorization()
            .RequireMessageRateLimit()
            .WithSummary("Send a message, creating a conversation when no conversationId is given.")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status402PaymentRequired)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    /// <summary>200 with the turn; 400 on bad content; 402 out of tokens; 404 unknown conversation; 429; 502; 503. A new conversation is not created when the content is invalid or the balance is short.</summary>
    public static async Task<Results<Ok<ChatResponse>, ValidationProblem, ProblemHttpResult>> Chat(
        ChatRequest body, ClaimsPrincipal principal, ParleyDbContext db, ConversationClient engine, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(body.Message))
        {
            return Problems.Field("message", "The message must not be empty.");
        }

        var userId = principal.UserId();
        var conversationId = body.ConversationId;
        var created = false;
        if (conversationId is null)
        {
            var balance = await db.Users.Where(u => u.Id == userId).Select(u => (long?)u.TokenBalance).SingleOrDefaultAsync(cancellationToken)
                ?? throw new UnknownUserException(); // a valid token that outlived its user: 401
            if (balance < engine.CostPerMessage)
            {
                return TurnProblems.ToResult(new TurnFailed(TurnError.InsufficientBalance,
                    $"The token balance does not cover a message ({engine.CostPerMessage} tokens).", balance), http);
            }

            conversationId = (await ConversationsApi.CreateConversationAsync(db, userId, null, time, cancellationToken)).Id;
            created = true;
        }

        var result = await engine.SendAndWaitAsync(new TurnRequest(userId, conversationId.Value, body.Message, null), cancellationToken);
        if (result.Failure is { } failure)
        {
            if (created && result.UserMessage is null)
            {
                // Nothing was stored in it: do not leave an empty conversation behind.
                await db.Conversations.Where(c => c.Id == conversationId && c.LastSequence == 0).ExecuteDeleteAsync(CancellationToken.None);
            }

            return TurnProblems.ToResult(failure, http, contentField: "message");
        }

        return TypedResults.Ok(new ChatResponse(conversationId.Value,
            MessageDto.From(result.UserMessage!), MessageDto.From(result.AssistantMessage!), result.TokenBalance ?? 0));
    }
}
