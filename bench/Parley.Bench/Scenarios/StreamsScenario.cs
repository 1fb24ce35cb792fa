using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Parley.Bench.Client;
using Parley.Bench.Measurement;

namespace Parley.Bench.Scenarios;

/// <summary>
/// <c>streams</c>: S streaming turns (<c>Accept: text/event-stream</c>), one per conversation, each on its own HTTP/1.1
/// connection, all released at once against a slow echo bot so they are in flight together. First a few hundred warm-up
/// streams on conversations of their own (JIT), then the connections are opened (untimed, at most
/// <c>--connect-concurrency</c> connects at a time so the burst does not overflow the listen backlog); then the time to
/// first chunk (the first <c>delta</c> event) is taken from each request's own start. Every stream's conversation is
/// new to the server, so each first turn also loads its context (a context miss).
/// </summary>
internal static class StreamsScenario
{
    public sealed record Settings(int Streams, int ChunkDelayMs, int ConnectConcurrency, int Users, TimeSpan Timeout, string Seed, int WarmupStreams);

    private static readonly MediaTypeWithQualityHeaderValue EventStream = new("text/event-stream");

    public static async Task<Report> RunAsync(BenchContext context, Settings settings, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>
        {
            ["Bot__Echo__ChunkDelayMs"] = settings.ChunkDelayMs.ToString(CultureInfo.InvariantCulture),
            ["Engine__MemoryUsageLimitPercentage"] = "0", // no shedding under memory pressure
        };
        await using var target = await context.OpenTargetAsync(environment, cancellationToken);
        using var client = new ParleyClient(target.BaseAddress, settings.ConnectConcurrency, settings.Timeout);
        // The measured streams get a client of their own, with no idle connection another request could take.
        using var streamClient = new ParleyClient(target.BaseAddress, settings.ConnectConcurrency, settings.Timeout);
        var users = await Setup.CreateUsersAsync(context, client, Math.Clamp(settings.Users, 1, settings.Streams), cancellationToken);
        var (conversations, seeded) = await Setup.ProvideConversationsAsync(
            context, target, client, users, settings.Streams + settings.WarmupStreams, 64, settings.Seed, cancellationToken);
        var uris = conversations.Select(id => new Uri(target.BaseAddress, $"api/conversations/{id}/messages")).ToArray();
        var authorizations = await Task.WhenAll(users.Select(u => u.GetAuthorizationAsync(cancellationToken).AsTask()));
        var body = JsonSerializer.SerializeToUtf8Bytes(new SendMessageRequest("Stream me a slow echo, please.", null), BenchJson.Default.SendMessageRequest);
        var errorsBefore = new ErrorTally();

        if (settings.WarmupStreams > 0)
        {
            // Warm the streaming path (JIT, pools) on conversations of its own, 100 streams at a time.
            var clock = Stopwatch.StartNew();
            var warmupErrors = new ErrorTally();
            await Parallel.ForEachAsync(Enumerable.Range(settings.Streams, settings.WarmupStreams),
                new ParallelOptions { MaxDegreeOfParallelism = 100, CancellationToken = cancellationToken }, async (i, ct) =>
                {
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, uris[i]) { Content = ParleyClient.JsonBody(body) };
                        request.Headers.Authorization = authorizations[i % authorizations.Length];
                        request.Headers.Accept.Add(EventStream);
                        using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                        var reader = new SseReader(await response.Content.ReadAsStreamAsync(ct));
                        while (await reader.ReadEventAsync(ct) is not null)
                        {
                        }
                    }
                    catch (Exception ex) when (!ct.IsCancellationRequested)
                    {
                        warmupErrors.Add(ex);
                    }
                });
            context.Status($"Warm-up: {settings.WarmupStreams} streams in {clock.Elapsed.TotalSeconds:F1} s ({warmupErrors.Total} errors)");
            if (warmupErrors.Total > 0)
            {
                errorsBefore.Add("warm-up", warmupErrors.Describe());
            }
        }

        var connectClock = Stopwatch.StartNew();
        var opened = await streamClient.OpenConnectionsAsync(settings.Streams, TimeSpan.FromSeconds(60), cancellationToken);
        context.Status($"Opened {opened} connections in {connectClock.Elapsed.TotalSeconds:F1} s");

        var errors = errorsBefore;
        var ttfc = new TimeSpan?[settings.Streams];
        var firstChunkAt = new long[settings.Streams];
        var total = new TimeSpan?[settings.Streams];
        var completed = 0;
        var inFlight = 0;
        var peak = 0;
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var connectsBefore = streamClient.ConnectionsOpened;

        async Task RunStream(int i)
        {
            await go.Task;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(settings.Timeout);
            var begin = Stopwatch.GetTimestamp();
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref peak, now);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, uris[i]) { Content = ParleyClient.JsonBody(body) };
                request.Headers.Authorization = authorizations[i % authorizations.Length];
                request.Headers.Accept.Add(EventStream);
                using var response = await streamClient.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    errors.Add($"http {(int)response.StatusCode}", await response.Content.ReadAsStringAsync(timeout.Token));
                    return;
                }

                await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
                var reader = new SseReader(stream);
                var done = false;
                while (await reader.ReadEventAsync(timeout.Token) is { } kind)
                {
                    switch (kind)
                    {
                        case SseReader.EventKind.Delta when ttfc[i] is null:
                            firstChunkAt[i] = Stopwatch.GetTimestamp();
                            ttfc[i] = Stopwatch.GetElapsedTime(begin, firstChunkAt[i]);
                            break;
                        case SseReader.EventKind.Assistant:
                            done = true;
                            break;
                        case SseReader.EventKind.Error:
                            errors.Add("error event", reader.LastErrorData);
                            return;
                    }
                }

                if (done && ttfc[i] is not null)
                {
                    total[i] = Stopwatch.GetElapsedTime(begin);
                    Interlocked.Increment(ref completed);
                }
                else
                {
                    errors.Add(done ? "no delta event" : "stream ended without an assistant event");
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                errors.Add(ex);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }

        var tasks = Enumerable.Range(0, settings.Streams).Select(RunStream).ToArray();
        context.Status($"Releasing {settings.Streams} streaming turns at once (echo chunk delay {settings.ChunkDelayMs} ms)");
        var window = new ServerWindow(target, client);
        await window.OnWindowAsync(true);
        var released = Stopwatch.GetTimestamp();
        go.SetResult();
        await Task.WhenAll(tasks);
        var elapsed = Stopwatch.GetElapsedTime(released);
        await window.OnWindowAsync(false);

        var firsts = ttfc.Where(t => t is not null).Select(t => t!.Value).ToArray();
        var lastFirstChunk = firstChunkAt.Where(t => t != 0).DefaultIfEmpty(released).Max();
        var report = new Report("streams")
            .Add("streams", settings.Streams, "streams released at once")
            .Add("completed", completed, "completed (assistant event received)")
            .Add("errors", errors.Total, "errors")
            .Add("peak_in_flight", peak, "most streams in flight at once (client)")
            .AddLatencies(LatencySummary.From(firsts), "ttfc_", "time to first chunk")
            .Add("last_first_chunk_s", Stopwatch.GetElapsedTime(released, lastFirstChunk).TotalSeconds, "release → the last stream's first chunk (s)", 2)
            .AddLatencies(LatencySummary.From(total.Where(t => t is not null).Select(t => t!.Value)), "total_", "whole stream")
            .Add("elapsed_s", elapsed.TotalSeconds, "release → last stream done (s)", 2)
            .Add("chunk_delay_ms", settings.ChunkDelayMs, "echo chunk delay (ms)")
            .Add("warmup_streams", settings.WarmupStreams, "warm-up streams before (own conversations)")
            .Add("connections", opened, "connections opened before the release")
            .Add("new_connections", streamClient.ConnectionsOpened - connectsBefore, "connections opened during the streams");
        window.AddTo(report, settings.Streams, "streams");
        if (window.End is { } diagnostics)
        {
            report.Add("rss_mb", diagnostics.WorkingSetBytes / (1024.0 * 1024), "server RSS after (MiB)", 0);
        }

        report.Add("seeded", seeded, "conversations created via")
            .Add("target", target.Description, "server");
        if (errors.Total > 0)
        {
            report.Note($"Errors: {errors.Describe()}");
        }

        return report;
    }

    private static void InterlockedMax(ref int location, int value)
    {
        var current = Volatile.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
