using System.Diagnostics;
using System.Net;
using Parley.Bench.Client;
using Parley.Bench.Measurement;
using Parley.Bench.Seeding;

namespace Parley.Bench.Scenarios;

/// <summary>
/// <c>history</c>: one conversation with N messages (written straight into the SQLite file when self-hosted, else
/// through the API as N/2 turns). The page from the middle is located by paging from the start (its cursor is opaque),
/// the server is restarted (a cold process: no EF, JIT or connection warm-up; the OS page cache stays warm), and then
/// the first fetch is timed alone, the rest of a first pass gives cold p50/p99 (JIT tier-up included), and a second
/// pass gives the warm p50/p99.
/// </summary>
internal static class HistoryScenario
{
    public sealed record Settings(int Messages, int PageSize, int Fetches, bool SeedThroughApi);

    public static async Task<Report> RunAsync(BenchContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var target = await context.OpenTargetAsync(new Dictionary<string, string>(), cancellationToken);
        BenchUser user;
        Guid conversation;
        string seeding;
        string? middleCursor = null;
        long middleSequence;
        using (var setupClient = new ParleyClient(target.BaseAddress))
        {
            user = (await Setup.CreateUsersAsync(context, setupClient, 1, cancellationToken))[0];
            conversation = (await Setup.CreateConversationsAsync(context, setupClient, [user], 1, 1, cancellationToken))[0];
            var clock = Stopwatch.StartNew();
            if (target.Server is { IsSqlite: true } server && !settings.SeedThroughApi)
            {
                await server.StopAsync();
                SqliteSeeder.Seed(server.SqliteDatabase!, [conversation], settings.Messages);
                await server.StartAsync(cancellationToken);
                seeding = "sqlite";
            }
            else
            {
                long sent = 0;
                using (new Setup.Progress(context, "turns", () => Interlocked.Read(ref sent), settings.Messages / 2))
                {
                    for (var turn = 1; turn <= settings.Messages / 2; turn++)
                    {
                        await setupClient.SendTurnAsync(user, conversation, $"History message {turn}: a short line of text.", cancellationToken);
                        Interlocked.Increment(ref sent);
                    }
                }

                seeding = "api";
            }

            context.Status($"Seeded {settings.Messages} messages ({seeding}) in {clock.Elapsed.TotalSeconds:F1} s");
            var stored = await setupClient.GetConversationAsync(user, conversation, cancellationToken);
            if (stored.MessageCount != settings.Messages / 2 * 2)
            {
                throw new InvalidOperationException($"The conversation holds {stored.MessageCount} messages, not {settings.Messages}.");
            }

            // Walk from the start to the middle page; its cursor is what a client scrolling there would hold.
            var middle = settings.Messages / settings.PageSize / 2;
            for (var page = 0; page < middle; page++)
            {
                middleCursor = (await setupClient.GetMessagesAsync(user, conversation, settings.PageSize, middleCursor, "start", cancellationToken)).NextCursor;
            }

            var check = await setupClient.GetMessagesAsync(user, conversation, settings.PageSize, middleCursor, "start", cancellationToken);
            middleSequence = check.Items.Count > 0 ? check.Items[0].Sequence : 0;
        }

        var restarted = false;
        if (target.Server is { } restart)
        {
            await restart.StopAsync();
            await restart.StartAsync(cancellationToken);
            restarted = true;
        }

        using var client = new ParleyClient(target.BaseAddress);
        user.Use(client);
        var url = new Uri(target.BaseAddress, ParleyClient.MessagesUrl(conversation, settings.PageSize, middleCursor, "start"));
        var authorization = await user.GetAuthorizationAsync(cancellationToken);
        var buffer = new BodyBuffer();
        var errors = new ErrorTally();

        async Task<long> FetchAsync()
        {
            var begin = Stopwatch.GetTimestamp();
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Authorization = authorization;
                using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                await buffer.ReadAsync(response, cancellationToken);
                if (response.StatusCode != HttpStatusCode.OK || !buffer.Contains("\"items\""u8))
                {
                    errors.Add($"http {(int)response.StatusCode}", buffer.ToString());
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                errors.Add(ex);
            }

            return Stopwatch.GetTimestamp() - begin;
        }

        context.Status($"Fetching the page at sequence {middleSequence} ({settings.PageSize} messages) {settings.Fetches} times after {(restarted ? "a restart" : "no restart (external server)")}, then {settings.Fetches} more");
        var first = await FetchAsync();
        var coldLog = new LatencyLog(settings.Fetches);
        for (var i = 1; i < settings.Fetches; i++)
        {
            coldLog.Add(await FetchAsync());
        }

        // The same again, now that the server's code paths are compiled and its caches warm.
        var log = new LatencyLog(settings.Fetches);
        for (var i = 0; i < settings.Fetches; i++)
        {
            log.Add(await FetchAsync());
        }

        var cold = LatencySummary.From([coldLog]);
        var latencies = LatencySummary.From([log]);
        var report = new Report("history")
            .Add("messages", settings.Messages, "messages in the conversation")
            .Add("page_size", settings.PageSize, "page size")
            .Add("page_start", middleSequence, "sequence of the page's first message")
            .Add("fetches", settings.Fetches, "fetches per pass")
            .Add("cold_first_ms", LatencySummary.ToMs(first), restarted ? "first fetch after the restart (ms)" : "first fetch (ms)", 2)
            .Add("cold_p50_ms", cold.Percentile(50), "first pass after the restart: p50 (ms)", 2)
            .Add("cold_p99_ms", cold.Percentile(99), "first pass after the restart: p99 (ms)", 2)
            .AddLatencies(latencies, what: "second pass (warm)")
            .Add("mean_ms", latencies.Mean, "second pass mean (ms)", 2)
            .Add("errors", errors.Total, "errors")
            .Add("seeded", seeding, "seeded via")
            .Add("cold", restarted ? "restart" : "no", "cold start")
            .Add("target", target.Description, "server");
        if (errors.Total > 0)
        {
            report.Note($"Errors: {errors.Describe()}");
        }

        return report;
    }
}
