using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Parley.Topology;

/// <summary>A registered user of the test, the conversations it owns and the balance it started the load with.</summary>
internal sealed record TestUser(string UserName, Guid Id, string AccessToken, IReadOnlyList<Guid> Conversations, long InitialBalance);

/// <summary>One turn a client wanted to add (one clientMessageId), every attempt it made, and the acknowledgement if one came.</summary>
internal sealed class TurnOutcome(TestUser user, Guid conversationId, string clientMessageId, string content)
{
    public TestUser User { get; } = user;

    public Guid ConversationId { get; } = conversationId;

    public string ClientMessageId { get; } = clientMessageId;

    public string Content { get; } = content;

    /// <summary>How each attempt ended: "200", an HTTP status, "transport" (refused or reset), "timeout", "stream-broken"…</summary>
    public List<string> Attempts { get; } = [];

    /// <summary>When each attempt started and how it ended (as in <see cref="Attempts"/>), for the unavailability after the kill.</summary>
    public List<(DateTimeOffset Started, string Label)> Timeline { get; } = [];

    /// <summary>True when the client sent this turn twice at once (to two random targets), like a double-clicking user or a retry racing the original.</summary>
    public bool SentTwice { get; init; }

    /// <summary>Every acknowledgement received for this clientMessageId (two when a duplicate was acknowledged too).</summary>
    public List<TurnResponseDto> Acks { get; } = [];

    /// <summary>The stored turn as the server acknowledged it (HTTP 200, or an SSE stream that reached its 'assistant' event).</summary>
    public TurnResponseDto? Ack
    {
        get
        {
            lock (Acks)
            {
                return Acks.Count > 0 ? Acks[0] : null;
            }
        }
    }

    /// <summary>True when an acknowledgement came as an SSE stream.</summary>
    public bool AckStreamed { get; private set; }

    public void Acknowledge(TurnResponseDto ack, bool streamed)
    {
        lock (Acks)
        {
            Acks.Add(ack);
            AckStreamed |= streamed;
        }
    }
}

/// <summary>
/// The load: <see cref="Clients"/> concurrent clients, each acting for one user and sending turns to that user's
/// conversations, picked at random. Every attempt goes either through nginx (owner routing) or, with probability
/// <see cref="DirectShare"/>, straight to a random node, bypassing the routing so that several nodes write the same
/// conversation at once; with probability <see cref="StreamShare"/> it is an SSE stream (two commits: the user message
/// is stored pending before the bot runs) rather than JSON (one commit after the reply exists). A turn that fails in a way a client would retry (a refused or
/// reset connection, 502, 503, a broken stream) is retried with the SAME clientMessageId, as a well-behaved client does.
/// </summary>
internal sealed class Workload(Topology topology, IReadOnlyList<TestUser> users, HttpClient http)
{
    public int Clients { get; init; } = 200;

    public double DirectShare { get; init; } = 0.5;

    public double StreamShare { get; init; } = 0.3;

    public double DuplicateShare { get; init; } = 0.05;

    public int MaxTurnsPerClient { get; init; } = 30;

    public int MaxAttempts { get; init; } = 3;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Runs every client until it sent <see cref="MaxTurnsPerClient"/> turns or <paramref name="duration"/> elapsed.</summary>
    public async Task<IReadOnlyList<TurnOutcome>> RunAsync(TimeSpan duration, int seed, CancellationToken cancellationToken)
    {
        var outcomes = new ConcurrentBag<TurnOutcome>();
        var clock = Stopwatch.StartNew();
        var clients = Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(seed + client);
            var user = users[client % users.Count];
            for (var turn = 1; turn <= MaxTurnsPerClient && clock.Elapsed < duration; turn++)
            {
                var conversation = user.Conversations[random.Next(user.Conversations.Count)];
                var key = $"c{client:D3}-t{turn:D3}";
                var outcome = new TurnOutcome(user, conversation, key, $"client {client} turn {turn} says {Words(random)}")
                {
                    SentTwice = random.NextDouble() < DuplicateShare,
                };
                outcomes.Add(outcome);
                var over = () => clock.Elapsed >= duration; // no retries after the load's end: the run winds down promptly
                if (outcome.SentTwice)
                {
                    var twin = new Random(random.Next());
                    await Task.WhenAll(SendWithRetriesAsync(outcome, random, over, cancellationToken), SendWithRetriesAsync(outcome, twin, over, cancellationToken));
                }
                else
                {
                    await SendWithRetriesAsync(outcome, random, over, cancellationToken);
                }

                if (outcome.Attempts.Any(a => a is "402" or "sse-402"))
                {
                    break; // the user is out of tokens: this client stops, as a person would
                }
            }
        }, cancellationToken)).ToArray();
        await Task.WhenAll(clients);
        return [.. outcomes];
    }

    private async Task SendWithRetriesAsync(TurnOutcome outcome, Random random, Func<bool> over, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var direct = random.NextDouble() < DirectShare;
            var target = direct ? topology.Nodes[random.Next(topology.Nodes.Count)].BaseAddress : topology.Nginx.BaseAddress;
            var stream = random.NextDouble() < StreamShare;
            var started = DateTimeOffset.UtcNow;
            var (label, ack) = await SendAsync(target, outcome, stream, cancellationToken);
            lock (outcome.Attempts)
            {
                outcome.Attempts.Add(label);
                outcome.Timeline.Add((started, ack is not null ? "200" : label));
            }

            if (ack is not null)
            {
                outcome.Acknowledge(ack, stream);
                return;
            }

            if (!IsRetryable(label) || over())
            {
                return;
            }

            await Task.Delay(100 + random.Next(300), cancellationToken);
        }
    }

    private async Task<(string Label, TurnResponseDto? Ack)> SendAsync(Uri target, TurnOutcome outcome, bool stream, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target, $"api/conversations/{outcome.ConversationId}/messages"))
        {
            Content = JsonContent.Create(new SendBody(outcome.Content, outcome.ClientMessageId), options: Json.Options),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", outcome.User.AccessToken);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(stream ? "text/event-stream" : "application/json"));
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                return (response.StatusCode == HttpStatusCode.ServiceUnavailable ? status + Reason(await response.Content.ReadAsStringAsync(timeout.Token)) : status, null);
            }

            if (!stream || response.Content.Headers.ContentType?.MediaType != "text/event-stream")
            {
                return ("200", await response.Content.ReadFromJsonAsync<TurnResponseDto>(Json.Options, timeout.Token));
            }

            return await ReadStreamAsync(response, timeout.Token);
        }
        catch (HttpRequestException)
        {
            return ("transport", null);
        }
        catch (IOException)
        {
            return ("stream-broken", null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ("timeout", null);
        }
    }

    /// <summary>Reads an SSE turn: 'user', 'delta'…, then 'assistant' (acknowledged) or 'error'.</summary>
    private static async Task<(string Label, TurnResponseDto? Ack)> ReadStreamAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(body);
        string? eventName = null;
        var data = "";
        UserStoredEventDto? user = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                eventName = line["event:".Length..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data += line["data:".Length..].TrimStart();
            }
            else if (line.Length == 0 && eventName is not null)
            {
                switch (eventName)
                {
                    case "user":
                        user = JsonSerializer.Deserialize<UserStoredEventDto>(data, Json.Options);
                        break;
                    case "assistant":
                        var assistant = JsonSerializer.Deserialize<AssistantStoredEventDto>(data, Json.Options)!;
                        return user is null
                            ? ("sse-assistant-without-user", null)
                            : ("200", new TurnResponseDto(user.UserMessage, assistant.AssistantMessage, assistant.TokenBalance));
                    case "error":
                        using (var problem = JsonDocument.Parse(data))
                        {
                            var status = problem.RootElement.TryGetProperty("status", out var s) ? s.GetInt32() : 0;
                            return ($"sse-{status.ToString(CultureInfo.InvariantCulture)}{(status == 503 ? Reason(data) : "")}", null);
                        }
                }

                (eventName, data) = (null, "");
            }
        }

        return ("stream-broken", null);
    }

    /// <summary>Failures a client retries (with the same clientMessageId): the node went away, or the engine said "try again".</summary>
    public static bool IsRetryable(string label) =>
        label is "transport" or "stream-broken" or "502" or "504" || label.StartsWith("503", StringComparison.Ordinal) || label.StartsWith("sse-503", StringComparison.Ordinal);

    /// <summary>Why the engine answered 503, from the problem's detail (ConversationActor's messages): " busy", " db-error"…</summary>
    private static string Reason(string problem) =>
        problem.Contains("too busy", StringComparison.Ordinal) ? " busy (conflict retries exhausted)"
        : problem.Contains("could not be processed", StringComparison.Ordinal) ? " db-error (commit failed)"
        : problem.Contains("still being answered", StringComparison.Ordinal) ? " still-answering (same clientMessageId)"
        : problem.Contains("superseded", StringComparison.Ordinal) ? " superseded (settled elsewhere)"
        : "";

    private static readonly string[] Vocabulary =
        ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];

    private static string Words(Random random) =>
        string.Join(' ', Enumerable.Range(0, 3 + random.Next(6)).Select(_ => Vocabulary[random.Next(Vocabulary.Length)]));
}
