using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Parley.Engine;
using Parley.Server.Infrastructure;

namespace Parley.Server.Conversations;

/// <summary>A failed turn as an RFC 9457 problem: the status of its <see cref="TurnError"/>, the field of its <see cref="TurnFailed.Field"/>.</summary>
public static class TurnProblems
{
    /// <summary>
    /// Maps an engine failure to its HTTP problem (status codes in <see cref="TurnError"/>'s docs); a 503 carries
    /// <c>Retry-After</c>. A failure with a field is a 400 validation problem naming it.
    /// </summary>
    /// <param name="failure">The failure.</param>
    /// <param name="http">The request (for <c>Retry-After</c>).</param>
    /// <param name="contentField">The request's name of the message content (<c>content</c>; <c>message</c> in <c>POST /api/chat</c>).</param>
    public static ProblemHttpResult ToResult(TurnFailed failure, HttpContext http, string contentField = TurnFailed.ContentField)
    {
        if (failure.Error == TurnError.Unavailable)
        {
            http.Response.Headers.RetryAfter = ClusterSetup.RetryAfterSeconds;
        }

        if (failure.Error == TurnError.InvalidContent)
        {
            // The same shape as a request validation problem (ASP.NET Core's title and type for 400).
            var field = failure.Field is null or TurnFailed.ContentField ? contentField : failure.Field;
            return TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [failure.Detail] })
            {
                Status = StatusCodes.Status400BadRequest,
            });
        }

        return TypedResults.Problem(ToProblemDetails(failure));
    }

    /// <summary>The problem of a failure, as sent in an SSE <c>error</c> event (or an HTTP problem response).</summary>
    public static ProblemDetails ToProblemDetails(TurnFailed failure)
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

        // A content failure of the bot (the provider found the prompt too long) names no field: it is the content.
        if ((failure.Field ?? (failure.Error == TurnError.InvalidContent ? TurnFailed.ContentField : null)) is { } field)
        {
            problem.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [failure.Detail] };
        }

        return problem;
    }
}
