using System.Net;
using System.Text.Json;
using Parley.Bench.Client;
using Parley.Bench.Measurement;

namespace Parley.Bench.Scenarios;

/// <summary>
/// <c>turns</c>: K clients, each with its own conversations (users shared round-robin when there are fewer users than
/// clients), send non-streaming turns one after another for the duration after a warm-up. Reports turns/s and latency on
/// the client's clock; by default measures the HTTP ceiling (<c>GET /healthz</c>) with the same clients first and prints
/// turns/s ÷ ceiling rps.
/// </summary>
internal static class TurnsScenario
{
    public sealed record Settings(int Clients, TimeSpan Warmup, TimeSpan Duration, int ConversationsPerClient, int Users, bool Ceiling, string Content);

    public static async Task<Report> RunAsync(BenchContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var target = await context.OpenTargetAsync(new Dictionary<string, string>(), cancellationToken);
        using var client = new ParleyClient(target.BaseAddress);
        var users = await Setup.CreateUsersAsync(context, client, Math.Clamp(settings.Users, 1, settings.Clients), cancellationToken);
        var conversations = await Setup.CreateConversationsAsync(context, client, users, settings.Clients * settings.ConversationsPerClient,
            settings.Clients, cancellationToken);

        LoadResult? ceiling = null;
        if (settings.Ceiling)
        {
            context.Status($"Ceiling: {settings.Clients} clients on GET /healthz for {settings.Warmup.TotalSeconds:F0}+{settings.Duration.TotalSeconds:F0} s");
            ceiling = await CeilingScenario.MeasureAsync(client, settings.Clients, settings.Warmup, settings.Duration, null, cancellationToken);
        }

        var workers = new Worker[settings.Clients];
        for (var i = 0; i < workers.Length; i++)
        {
            // Client i owns conversations i, i + K, i + 2K…, which all belong to the same user (users[i % users]).
            var owned = Enumerable.Range(0, settings.ConversationsPerClient).Select(j => conversations[i + j * settings.Clients]);
            workers[i] = new Worker(
                users[i % users.Length],
                [.. owned.Select(id => new Uri(target.BaseAddress, $"api/conversations/{id}/messages"))],
                JsonSerializer.SerializeToUtf8Bytes(new SendMessageRequest($"{settings.Content} (client {i})", null), BenchJson.Default.SendMessageRequest));
        }

        context.Status($"Turns: {settings.Clients} clients, {conversations.Length} conversations, {settings.Warmup.TotalSeconds:F0} s warm-up + {settings.Duration.TotalSeconds:F0} s");
        await using var window = new ServerWindow(target, client, context.WindowCommand, settings.Duration);
        var result = await LoadLoop.RunAsync(settings.Clients, settings.Warmup, settings.Duration,
            (i, ct) => workers[i].SendAsync(client.Http, ct), window.OnWindowAsync, cancellationToken);

        var report = new Report("turns")
            .Add("clients", settings.Clients, "clients")
            .Add("conversations", conversations.Length, "conversations")
            .Add("turns_per_s", result.PerSecond, "turns per second", 0)
            .AddLatencies(result.Latencies, what: "turn latency")
            .Add("errors", result.AllErrors, "errors (warm-up included)")
            .Add("turns", result.Operations, "turns measured");
        if (ceiling is not null)
        {
            report.Add("ceiling_rps", ceiling.PerSecond, "ceiling: GET /healthz per second", 0)
                .Add("ceiling_ratio", ceiling.PerSecond > 0 ? result.PerSecond / ceiling.PerSecond : 0, "turns/s ÷ ceiling rps", 3)
                .Add("ceiling_errors", ceiling.AllErrors, "ceiling errors");
        }

        window.AddTo(report, result.Operations, "turns");
        report.Add("target", target.Description, "server").Note(Describe(result));
        return report;
    }

    internal static string Describe(LoadResult result) =>
        result.AllErrors == 0
            ? $"{result.Operations} operations in {result.Seconds:F1} s (+{result.WarmupOperations} in the warm-up), no errors."
            : $"Errors: {result.Errors.Describe()}; in the warm-up: {result.WarmupErrors.Describe()}";

    /// <summary>One client: its user, its conversations (taken round-robin), its request body and its response buffer.</summary>
    private sealed class Worker(BenchUser user, Uri[] conversations, byte[] body)
    {
        private readonly BodyBuffer _buffer = new();
        private int _next;

        public async ValueTask<string?> SendAsync(HttpClient http, CancellationToken cancellationToken)
        {
            var uri = conversations[_next];
            _next = (_next + 1) % conversations.Length;
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = ParleyClient.JsonBody(body) };
            request.Headers.Authorization = await user.GetAuthorizationAsync(cancellationToken);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            await _buffer.ReadAsync(response, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return $"http {(int)response.StatusCode}: {_buffer}";
            }

            return _buffer.Contains("\"assistantMessage\""u8) && _buffer.Contains("\"role\":\"assistant\""u8)
                ? null
                : $"no assistant message: {_buffer}";
        }
    }
}
