using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>One request the fake model server received.</summary>
/// <param name="Path">The request path (<c>/v1/chat/completions</c>, <c>/api/chat</c>).</param>
/// <param name="Body">The JSON body.</param>
/// <param name="Authorization">The Authorization header, if any.</param>
public sealed record FakeRequest(string Path, JsonObject Body, string? Authorization)
{
    /// <summary>Completes when the client closed or cancelled the request (the server saw the connection go).</summary>
    public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>True when the request asked for a stream.</summary>
    public bool Stream => Body["stream"]?.GetValue<bool>() == true;
}

/// <summary>What the fake server does with one request: writes the response through <paramref name="Http"/>.</summary>
public delegate Task FakeReply(FakeRequest request, HttpContext Http);

/// <summary>
/// A fake model provider on loopback (Kestrel, a free port) speaking the OpenAI Chat Completions API
/// (<c>/v1/chat/completions</c>, SSE) and Ollama's <c>/api/chat</c> (NDJSON). Each request takes the next scripted
/// <see cref="FakeReply"/> (or <see cref="Default"/>), so a test reproduces what real servers send — llama.cpp's quirks,
/// faults — and sees every request and when its connection closed.
/// </summary>
public sealed class FakeModelServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeReply> _script = new();
    private readonly ConcurrentQueue<FakeRequest> _requests = new();
    private readonly Channel<FakeRequest> _arrivals = Channel.CreateUnbounded<FakeRequest>();

    private FakeModelServer(WebApplication app)
    {
        _app = app;
        app.MapPost("/v1/chat/completions", HandleAsync);
        app.MapPost("/api/chat", HandleAsync);
        app.MapPost("/v1/embeddings", HandleEmbeddingsAsync);
    }

    /// <summary>Every <c>/v1/embeddings</c> request so far (they do not take scripted replies).</summary>
    public IReadOnlyList<JsonObject> EmbeddingRequests => [.. _embeddingRequests];

    private readonly ConcurrentQueue<JsonObject> _embeddingRequests = new();

    /// <summary>
    /// A deterministic embedding for the tests: 64 dimensions, one count per word hashed (FNV-1a of the lower-cased word)
    /// into a dimension, so texts that share words are similar and texts that share none are orthogonal.
    /// </summary>
    public static float[] Embed(string text)
    {
        var vector = new float[64];
        foreach (var word in text.ToLowerInvariant().Split([' ', '\n', '.', ',', '?', '!', ':', '#'], StringSplitOptions.RemoveEmptyEntries))
        {
            var hash = 2166136261u;
            foreach (var c in word)
            {
                hash = (hash ^ c) * 16777619u;
            }

            vector[hash % 64] += 1;
        }

        return vector;
    }

    // OpenAI's POST /v1/embeddings: input a string or an array of strings; encoding_format "float" (default) or "base64".
    private async Task HandleEmbeddingsAsync(HttpContext http)
    {
        var body = (JsonObject)(await JsonNode.ParseAsync(http.Request.Body))!;
        _embeddingRequests.Enqueue(body);
        var inputs = body["input"] is JsonArray array ? array.Select(i => i!.GetValue<string>()).ToList() : [body["input"]!.GetValue<string>()];
        var base64 = body["encoding_format"]?.GetValue<string>() == "base64";
        var data = new JsonArray();
        for (var i = 0; i < inputs.Count; i++)
        {
            var vector = Embed(inputs[i]);
            JsonNode embedding = base64
                ? JsonValue.Create(Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan())))
                : new JsonArray([.. vector.Select(v => (JsonNode?)JsonValue.Create(v))]);
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = embedding });
        }

        var response = new JsonObject
        {
            ["object"] = "list", ["data"] = data, ["model"] = body["model"]?.GetValue<string>(),
            ["usage"] = new JsonObject { ["prompt_tokens"] = inputs.Count, ["total_tokens"] = inputs.Count },
        };
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(response.ToJsonString());
    }

    /// <summary>The base URL for <c>Bot:OpenAI:BaseUrl</c> (ends in <c>/v1</c>).</summary>
    public string OpenAIBaseUrl => BaseUrl + "v1";

    /// <summary>The base URL for <c>Bot:Ollama:BaseUrl</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>What a request gets when nothing is scripted: a streamed "Hello from the fake" with usage 10/4.</summary>
    public FakeReply Default { get; set; } = OpenAI.Stream(
        [OpenAI.Role(), OpenAI.Content("Hello "), OpenAI.Content("from the fake"), OpenAI.Finish("stop"), OpenAI.Usage(10, 4), OpenAI.Done]);

    /// <summary>Every request received so far, in arrival order.</summary>
    public IReadOnlyList<FakeRequest> Requests => [.. _requests];

    /// <summary>Starts a server on 127.0.0.1 and a free port.</summary>
    public static async Task<FakeModelServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var server = new FakeModelServer(builder.Build());
        await server._app.StartAsync();
        var address = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = address.TrimEnd('/') + "/";
        return server;
    }

    /// <summary>Queues replies for the next requests, in order.</summary>
    public FakeModelServer Then(params FakeReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }

        return this;
    }

    /// <summary>Waits for the next request to arrive (in order of arrival, each returned once).</summary>
    public async Task<FakeRequest> NextRequestAsync() =>
        await _arrivals.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

    private async Task HandleAsync(HttpContext http)
    {
        var body = (JsonObject)(await JsonNode.ParseAsync(http.Request.Body))!;
        var request = new FakeRequest(http.Request.Path, body, http.Request.Headers.Authorization.FirstOrDefault());
        http.RequestAborted.Register(() => request.Aborted.TrySetResult());
        _requests.Enqueue(request);
        _arrivals.Writer.TryWrite(request);
        var reply = _script.TryDequeue(out var scripted) ? scripted : request.Path.StartsWith("/api/", StringComparison.Ordinal) ? Ollama.Stream("Hello from the fake", 10, 4) : Default;
        try
        {
            await reply(request, http);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    /// <summary>Building blocks of OpenAI-style replies (and llama.cpp's variations).</summary>
    public static class OpenAI
    {
        /// <summary>The end of a stream.</summary>
        public const string Done = "data: [DONE]\n\n";

        /// <summary>A <c>:</c> comment line (llama.cpp's keep-alive).</summary>
        public const string KeepAlive = ": keep-alive\n\n";

        /// <summary>The first chunk: the role, with <c>content: null</c> (llama.cpp) and an unknown field.</summary>
        public static string Role() => Chunk("""{"role":"assistant","content":null}""", null);

        /// <summary>A chunk of text.</summary>
        public static string Content(string text) => Chunk(string.Concat("{\"content\":", (JsonSerializer.Serialize(text)), "}"), null);

        /// <summary>The chunk carrying the finish reason (<c>stop</c>, <c>length</c>).</summary>
        public static string Finish(string reason) => Chunk("{}", reason);

        /// <summary>The final usage-only chunk with empty <c>choices</c>.</summary>
        public static string Usage(int prompt, int completion) =>
            string.Concat("data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"fake\",\"choices\":[],\"usage\":{\"prompt_tokens\":", (prompt), ",\"completion_tokens\":", (completion), ",\"total_tokens\":", (prompt + completion), "},\"timings\":{\"predicted_ms\":1.5}}") + "\n\n";

        /// <summary>llama.cpp's mid-stream error event (followed by no <c>[DONE]</c>).</summary>
        public static string Error(string message) =>
            string.Concat("data: {\"error\":{\"code\":500,\"message\":", (JsonSerializer.Serialize(message)), ",\"type\":\"server_error\"}}") + "\n\n";

        private static string Chunk(string delta, string? finish) =>
            string.Concat("data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"fake\",\"system_fingerprint\":\"b1\",\"choices\":[{\"index\":0,\"delta\":", (delta), ",\"logprobs\":null,\"finish_reason\":", ((finish is null ? "null" : $"\"{finish}\"")), "}],\"x_unknown\":{\"a\":1}}") + "\n\n";

        /// <summary>Streams <paramref name="parts"/> as an SSE response, flushing each.</summary>
        public static FakeReply Stream(IReadOnlyList<string> parts, Func<FakeRequest, int, Task>? beforePart = null) => async (request, http) =>
        {
            http.Response.ContentType = "text/event-stream";
            await http.Response.StartAsync(http.RequestAborted);
            for (var i = 0; i < parts.Count; i++)
            {
                if (beforePart is not null)
                {
                    await beforePart(request, i);
                }

                await http.Response.WriteAsync(parts[i], http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
            }
        };

        /// <summary>A JSON (non-SSE) error with <paramref name="status"/>, as llama.cpp answers even a streamed request.</summary>
        public static FakeReply JsonError(int status, string message, string type = "invalid_request_error", string? retryAfter = null) => async (_, http) =>
        {
            http.Response.StatusCode = status;
            if (retryAfter is not null)
            {
                http.Response.Headers.RetryAfter = retryAfter;
            }

            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(
                string.Concat("{\"error\":{\"code\":", (status), ",\"message\":", (JsonSerializer.Serialize(message)), ",\"type\":\"", (type), "\"}}"), http.RequestAborted);
        };

        /// <summary>A non-streamed completion (titles).</summary>
        public static FakeReply Completion(string text, int prompt = 30, int completion = 5) => async (_, http) =>
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(
                string.Concat("{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"fake\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":", (JsonSerializer.Serialize(text)), "},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":", (prompt), ",\"completion_tokens\":", (completion), ",\"total_tokens\":", (prompt + completion), "}}"),
                http.RequestAborted);
        };
    }

    /// <summary>Building blocks of Ollama replies (<c>/api/chat</c>, NDJSON).</summary>
    public static class Ollama
    {
        /// <summary>An error answer, as Ollama gives for an unknown model (404) or a crashed runner (500).</summary>
        public static FakeReply Error(int status, string message) => async (_, http) =>
        {
            http.Response.StatusCode = status;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(string.Concat("{\"error\":", JsonSerializer.Serialize(message), "}"), http.RequestAborted);
        };

        /// <summary>Streams one chunk of <paramref name="partial"/>, then an error line (Ollama's mid-stream failure), then ends.</summary>
        public static FakeReply ErrorMidStream(string partial, string message) => async (request, http) =>
        {
            http.Response.ContentType = "application/x-ndjson";
            var model = request.Body["model"]?.GetValue<string>() ?? "fake";
            await http.Response.WriteAsync(string.Concat("{\"model\":\"", model,
                "\",\"created_at\":\"2026-11-27T04:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":", JsonSerializer.Serialize(partial), "},\"done\":false}\n"), http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            await http.Response.WriteAsync(string.Concat("{\"error\":", JsonSerializer.Serialize(message), "}\n"), http.RequestAborted);
        };

        /// <summary>Streams <paramref name="text"/> word by word, then the final <c>done</c> object with the counts.</summary>
        public static FakeReply Stream(string text, int promptEvalCount, int evalCount, string doneReason = "stop") => async (request, http) =>
        {
            http.Response.ContentType = "application/x-ndjson";
            var model = request.Body["model"]?.GetValue<string>() ?? "fake";
            foreach (var word in text.Split(' ').Select((w, i) => i == 0 ? w : " " + w))
            {
                await http.Response.WriteAsync(
                    string.Concat("{\"model\":\"", (model), "\",\"created_at\":\"2026-11-27T04:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":", (JsonSerializer.Serialize(word)), "},\"done\":false}") + "\n",
                    http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
            }

            await http.Response.WriteAsync(
                string.Concat("{\"model\":\"", (model), "\",\"created_at\":\"2026-11-27T04:00:01Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"", (doneReason), "\",\"total_duration\":1000,\"load_duration\":10,\"prompt_eval_count\":", (promptEvalCount), ",\"prompt_eval_duration\":100,\"eval_count\":", (evalCount), ",\"eval_duration\":200}") + "\n",
                http.RequestAborted);
        };
    }
}
