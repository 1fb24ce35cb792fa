using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Parley.Bench.Client;
using Parley.Bench.Measurement;

namespace Parley.Bench.Scenarios;

/// <summary>
/// <c>resident</c>: creates C conversations through the API, sends T short turns to each (K clients, each working through
/// conversations one at a time), then reads the server's resident contexts and memory from <c>/diagnostics/engine</c>:
/// RSS, managed heap, and bytes per resident conversation (absolute and above the RSS before the turns).
/// </summary>
internal static class ResidentScenario
{
    public sealed record Settings(int Conversations, int TurnsPerConversation, int Clients, int Users, string Seed);

    public static async Task<Report> RunAsync(BenchContext context, Settings settings, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>
        {
            // Keep every conversation resident for the whole run: no shedding, no idle collection.
            ["Engine__MemoryUsageLimitPercentage"] = "0", // no shedding under memory pressure
            ["Engine__IdleTimeout"] = "12:00:00",
        };
        await using var target = await context.OpenTargetAsync(environment, cancellationToken);
        using var client = new ParleyClient(target.BaseAddress);
        var users = await Setup.CreateUsersAsync(context, client, Math.Clamp(settings.Users, 1, settings.Conversations), cancellationToken);
        var (conversations, seeded) = await Setup.ProvideConversationsAsync(
            context, target, client, users, settings.Conversations, settings.Clients, settings.Seed, cancellationToken);
        var before = await client.GetDiagnosticsAsync(cancellationToken);

        var body = JsonSerializer.SerializeToUtf8Bytes(new SendMessageRequest("Hi! A short turn.", null), BenchJson.Default.SendMessageRequest);
        var uris = conversations.Select(id => new Uri(target.BaseAddress, $"api/conversations/{id}/messages")).ToArray();
        var errors = new ErrorTally();
        var logs = new LatencyLog[settings.Clients];
        var next = -1;
        long turns = 0;
        var total = (long)settings.Conversations * settings.TurnsPerConversation;
        context.Status($"Sending {total} turns ({settings.TurnsPerConversation} to each of {settings.Conversations} conversations) with {settings.Clients} clients");
        var clock = Stopwatch.StartNew();
        using (new Setup.Progress(context, "turns", () => Interlocked.Read(ref turns), total))
        {
            await Task.WhenAll(Enumerable.Range(0, settings.Clients).Select(async worker =>
            {
                await Task.Yield();
                var log = logs[worker] = new LatencyLog();
                var buffer = new BodyBuffer();
                int index;
                while ((index = Interlocked.Increment(ref next)) < uris.Length && !cancellationToken.IsCancellationRequested)
                {
                    var user = users[index % users.Length];
                    for (var turn = 0; turn < settings.TurnsPerConversation; turn++)
                    {
                        var begin = Stopwatch.GetTimestamp();
                        try
                        {
                            using var request = new HttpRequestMessage(HttpMethod.Post, uris[index]) { Content = ParleyClient.JsonBody(body) };
                            request.Headers.Authorization = await user.GetAuthorizationAsync(cancellationToken);
                            using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                            await buffer.ReadAsync(response, cancellationToken);
                            if (response.StatusCode != HttpStatusCode.OK)
                            {
                                errors.Add($"http {(int)response.StatusCode}", buffer.ToString());
                            }
                        }
                        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                        {
                            errors.Add(ex);
                        }

                        log.Add(Stopwatch.GetTimestamp() - begin);
                        Interlocked.Increment(ref turns);
                    }
                }
            }));
        }

        var elapsed = clock.Elapsed;
        var after = await client.GetDiagnosticsAsync(cancellationToken);
        var resident = after.Engine.ResidentConversations;
        const double MiB = 1024 * 1024;
        var latencies = LatencySummary.From(logs.Where(l => l is not null));
        var report = new Report("resident")
            .Add("conversations", settings.Conversations, "conversations")
            .Add("turns", turns, "turns sent")
            .Add("errors", errors.Total, "errors")
            .Add("resident", resident, "resident conversations (server)")
            .Add("rss_mb", after.WorkingSetBytes / MiB, "server RSS (MiB)", 0)
            .Add("rss_before_mb", before.WorkingSetBytes / MiB, "server RSS before the turns (MiB)", 0)
            .Add("managed_mb", after.ManagedBytes / MiB, "server managed bytes (MiB)", 0)
            .Add("heap_mb", after.HeapSizeBytes / MiB, "server GC heap after the last GC (MiB)", 0)
            .Add("bytes_per_conversation", resident > 0 ? after.WorkingSetBytes / resident : 0, "RSS ÷ resident conversations (bytes)")
            .Add("delta_bytes_per_conversation", resident > 0 ? (after.WorkingSetBytes - before.WorkingSetBytes) / resident : 0,
                "RSS growth during the turns ÷ resident (bytes)")
            .Add("turns_per_s", turns / Math.Max(elapsed.TotalSeconds, 1e-3), "turns per second while loading", 0)
            .AddLatencies(latencies, what: "turn latency")
            .Add("seeded", seeded, "conversations created via")
            .Add("target", target.Description, "server");
        if (errors.Total > 0)
        {
            report.Note($"Errors: {errors.Describe()}");
        }

        return report;
    }
}
