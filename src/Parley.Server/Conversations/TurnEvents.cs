using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.HttpResults;
using Parley.Engine;

namespace Parley.Server.Conversations;

/// <summary>A finished turn.</summary>
/// <param name="UserMessage">The stored user message.</param>
/// <param name="AssistantMessage">The stored reply.</param>
/// <param name="TokenBalance">The user's balance after the turn.</param>
public sealed record TurnResponse(MessageDto UserMessage, MessageDto AssistantMessage, long TokenBalance);

/// <summary>A regenerated reply.</summary>
/// <param name="AssistantMessage">The stored reply, a new sibling of the regenerated one.</param>
/// <param name="TokenBalance">The user's balance after the reply was charged.</param>
public sealed record RegenerateResponse(MessageDto AssistantMessage, long TokenBalance);

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
/// <summary>A turn's engine events as Server-Sent Events: <c>user</c>, <c>delta</c>…, then <c>assistant</c> or <c>error</c>.</summary>
public static class TurnStreams
{
    /// <summary>True when the request accepts <c>text/event-stream</c>.</summary>
    public static bool AcceptsEventStream(HttpRequest request) =>
        request.Headers.Accept.Any(value => value?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true);

    /// <summary>Sets the headers of an event stream: no caching, no proxy buffering (nginx).</summary>
    public static void PrepareResponse(HttpResponse response)
    {
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }

    /// <summary>
    /// Waits for a turn's first event. Until the turn is accepted (a send: its user message stored) the outcome is an
    /// ordinary HTTP status: a rejection is returned as its problem; otherwise null, and the turn goes on as a stream.
    /// </summary>
    internal static async Task<ProblemHttpResult?> RejectionAsync(ChannelReader<TurnEvent> events, HttpContext http)
    {
        await events.WaitToReadAsync(CancellationToken.None);
        return events.TryPeek(out var first) && first is TurnFailed rejected ? TurnProblems.ToResult(rejected, http) : null;
    }

    /// <summary>The turn's events as the response's event stream (headers set: no caching, no proxy buffering).</summary>
    internal static ServerSentEventsResult<object> Respond(ChannelReader<TurnEvent> events, HttpContext http, CancellationToken cancellationToken)
    {
        PrepareResponse(http.Response);
        return TypedResults.ServerSentEvents(Stream(events, cancellationToken));
    }

    /// <summary>The SSE items of a turn's events, each with its event id when it has one.</summary>
    /// <param name="events">The turn's events.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <param name="flushFirst">When given and no event is ready, the response headers are flushed first (a follower knows it is attached).</param>
    public static async IAsyncEnumerable<SseItem<object>> Stream(
        ChannelReader<TurnEvent> events, [EnumeratorCancellation] CancellationToken cancellationToken, HttpResponse? flushFirst = null)
    {
        if (flushFirst is not null && !events.TryPeek(out _))
        {
            // Nothing to replay yet: send the headers now (the result has set them), so the follower knows it is attached.
            await flushFirst.Body.FlushAsync(cancellationToken);
        }

        await foreach (var turnEvent in events.ReadAllAsync(cancellationToken))
        {
            var item = turnEvent switch
            {
                UserMessageStored stored => new SseItem<object>(new UserStoredEvent(MessageDto.From(stored.Message), stored.TokenBalance), "user"),
                AssistantDelta delta => new SseItem<object>(new DeltaEvent(delta.Text), "delta"),
                AssistantCompleted done => new SseItem<object>(new AssistantStoredEvent(MessageDto.From(done.Message), done.TokenBalance), "assistant"),
                TurnFailed failed => new SseItem<object>(TurnProblems.ToProblemDetails(failed), "error"),
                _ => throw new InvalidOperationException($"Unknown turn event {turnEvent.GetType().Name}."),
            };
            yield return turnEvent.EventId is { } eventId ? new SseItem<object>(item.Data, item.EventType) { EventId = eventId } : item;
        }
    }
}
