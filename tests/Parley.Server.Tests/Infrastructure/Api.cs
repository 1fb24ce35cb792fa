using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>One Server-Sent Event: its type and its JSON data.</summary>
public sealed record SseEvent(string Type, JsonElement Data, string? Id = null)
{
    /// <summary>The data as <typeparamref name="T"/> (strict contract).</summary>
    public T As<T>() => Data.Deserialize<T>(Json.Strict) ?? throw new InvalidOperationException($"Event '{Type}' has no data.");
}

/// <summary>Parley's API calls as the tests make them, with the assertions every caller would repeat.</summary>
public static class Api
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Reads a successful JSON body (asserts 2xx and <c>application/json</c>).</summary>
    public static async Task<T> ReadAsync<T>(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.IsSuccessStatusCode, $"Expected success, got {(int)response.StatusCode}: {text}\nRecent server errors:\n{LogSink.Recent}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonSerializer.Deserialize<T>(text, Json.Strict) ?? throw new InvalidOperationException("The body is null.");
    }

    /// <summary>
    /// Asserts an RFC 9457 problem: the status, <c>application/problem+json</c>, a matching <c>status</c> member, a
    /// <c>traceId</c>, no stack trace, and — when <paramref name="field"/> is given — an error on that field.
    /// </summary>
    public static async Task<ProblemBody> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string? field = null)
    {
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonSerializer.Deserialize<ProblemBody>(text, Json.Lenient)!;
        Assert.Equal((int)status, problem.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem.Title), "A problem has a title.");
        Assert.False(string.IsNullOrWhiteSpace(problem.TraceId), $"A problem carries a traceId: {text}");
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal); // no stack trace
        if (field is not null)
        {
            Assert.True(problem.Errors?.ContainsKey(field) == true, $"Expected an error on '{field}': {text}");
            Assert.NotEmpty(problem.Errors![field]);
        }

        return problem;
    }

    /// <summary>POST /api/conversations (asserts 201).</summary>
    public static async Task<ConversationBody> CreateConversationAsync(this HttpClient client, string? title = null)
    {
        using var response = await client.PostAsJsonAsync("/api/conversations", new { title }, Token);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadAsync<ConversationBody>();
    }

    /// <summary>GET /api/conversations/{id} (asserts 200).</summary>
    public static async Task<ConversationBody> GetConversationAsync(this HttpClient client, Guid id)
    {
        using var response = await client.GetAsync($"/api/conversations/{id}", Token);
        return await response.ReadAsync<ConversationBody>();
    }

    /// <summary>POST /api/conversations/{id}/messages as JSON, returning the raw response.</summary>
    public static Task<HttpResponseMessage> PostMessageAsync(this HttpClient client, Guid conversationId, string content, string? clientMessageId = null) =>
        client.PostAsJsonAsync($"/api/conversations/{conversationId}/messages", new { content, clientMessageId }, Token);

    /// <summary>Sends a message and returns the finished turn (asserts 200).</summary>
    public static async Task<TurnBody> SendAsync(this HttpClient client, Guid conversationId, string content, string? clientMessageId = null)
    {
        using var response = await client.PostMessageAsync(conversationId, content, clientMessageId);
        return await response.ReadAsync<TurnBody>();
    }

    /// <summary>POST /api/conversations/{id}/messages with <c>Accept: text/event-stream</c>; returns once the headers arrived.</summary>
    public static Task<HttpResponseMessage> PostMessageStreamingAsync(this HttpClient client, Guid conversationId, string content, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/conversations/{conversationId}/messages")
        {
            Content = JsonContent.Create(new { content }),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    /// <summary>GET /api/conversations/{id}/stream with <c>Accept: text/event-stream</c> (and <c>Last-Event-ID</c> when given); returns once the headers arrived.</summary>
    public static Task<HttpResponseMessage> FollowTurnAsync(this HttpClient client, Guid conversationId, string? lastEventId, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/conversations/{conversationId}/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    /// <summary>Reads an event stream as it arrives (asserts 200 and <c>text/event-stream</c>).</summary>
    public static async IAsyncEnumerable<SseEvent> ReadEventsAsync(this HttpResponseMessage response, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var parser = SseParser.Create(stream, (type, data) => JsonDocument.Parse(data.ToArray()).RootElement.Clone());
        await foreach (var item in parser.EnumerateAsync(cancellationToken))
        {
            yield return new SseEvent(item.EventType, item.Data, item.EventId);
        }
    }

    /// <summary>Reads a whole event stream.</summary>
    public static async Task<List<SseEvent>> ReadAllEventsAsync(this HttpResponseMessage response)
    {
        var events = new List<SseEvent>();
        await foreach (var item in response.ReadEventsAsync(Token))
        {
            events.Add(item);
        }

        return events;
    }

    /// <summary>Every message of a conversation, oldest first, following the cursors from the start.</summary>
    public static async Task<List<MessageBody>> GetAllMessagesAsync(this HttpClient client, Guid conversationId)
    {
        var all = new List<MessageBody>();
        string? cursor = null;
        do
        {
            var url = $"/api/conversations/{conversationId}/messages?limit=200" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            using var response = await client.GetAsync(url, Token);
            var page = await response.ReadAsync<PageBody<MessageBody>>();
            all.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return all;
    }

    /// <summary>GET /api/users/me/balance → tokenBalance.</summary>
    public static async Task<long> GetBalanceAsync(this HttpClient client)
    {
        using var response = await client.GetAsync("/api/users/me/balance", Token);
        return (await response.ReadAsync<BalanceBody>()).TokenBalance;
    }

    /// <summary>GET /api/conversations with paging parameters, returning one page.</summary>
    public static async Task<PageBody<ConversationBody>> ListConversationsAsync(this HttpClient client, int? limit = null, string? cursor = null)
    {
        var query = new List<string>();
        if (limit is not null)
        {
            query.Add($"limit={limit}");
        }

        if (cursor is not null)
        {
            query.Add($"cursor={Uri.EscapeDataString(cursor)}");
        }

        using var response = await client.GetAsync("/api/conversations" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), Token);
        return await response.ReadAsync<PageBody<ConversationBody>>();
    }

    /// <summary>Sends raw text with a content type (for malformed bodies).</summary>
    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string url, string body, string contentType = "application/json")
    {
        var content = new StringContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return client.PostAsync(url, content, Token);
    }

    /// <summary>Asserts that a turn is well formed: user at n, assistant at n + 1 echoing it, both completed.</summary>
    public static void AssertEchoTurn(TurnBody turn, string content)
    {
        Assert.Equal("user", turn.UserMessage.Role);
        Assert.Equal("assistant", turn.AssistantMessage.Role);
        Assert.Equal(content, turn.UserMessage.Content);
        Assert.Equal(content, turn.AssistantMessage.Content);
        Assert.Equal(turn.UserMessage.Sequence + 1, turn.AssistantMessage.Sequence);
        Assert.Equal("completed", turn.UserMessage.Status);
        Assert.Equal("completed", turn.AssistantMessage.Status);
        Assert.Equal(turn.UserMessage.ConversationId, turn.AssistantMessage.ConversationId);
    }
}
