using System.Diagnostics;
using System.Net;
using Parley.Bench.Client;
using Parley.Bench.Measurement;
using Parley.Bench.Seeding;

namespace Parley.Bench.Scenarios;

/// <summary>
/// <c>search</c>: U users × C conversations × M messages of Zipf-distributed text (see <see cref="SearchCorpus"/>) written
/// straight into the self-hosted server's database through its triggers/generated columns, then N timed
/// <c>GET /api/search</c> per query kind, one after another, the searching users taking turns: <c>common</c> (the
/// commonest word, in most of a user's messages), <c>two</c> (two frequent words), <c>rare</c> (the user's rarest word),
/// <c>prefix</c> (a frequent word and the first letters of another), <c>title</c> (an unaccented topic of titles). A
/// warm-up pass of every kind runs first, unmeasured.
/// </summary>
internal static class SearchScenario
{
    public sealed record Settings(int Users, int ConversationsPerUser, int MessagesPerConversation, int Searchers, int Queries, int Limit);

    public static async Task<Report> RunAsync(BenchContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var target = await context.OpenTargetAsync(new Dictionary<string, string>(), cancellationToken);
        var server = target.RequireServer("search");
        var searcherCount = Math.Clamp(settings.Searchers, 1, settings.Users);
        var shape = new SearchSeeder.Shape(settings.Users, settings.ConversationsPerUser, settings.MessagesPerConversation);
        var total = (long)shape.Users * shape.ConversationsPerUser * shape.MessagesPerConversation;
        var corpus = new SearchCorpus();

        using var client = new ParleyClient(target.BaseAddress);
        var searchers = await Setup.CreateUsersAsync(context, client, searcherCount, cancellationToken);
        var clock = Stopwatch.StartNew();
        long done = 0;
        string[] rareWords;
        using (new Setup.Progress(context, "messages seeded", () => Interlocked.Read(ref done), total))
        {
            if (server.IsSqlite)
            {
                await server.StopAsync();
                using (var sink = new SearchSeeder.SqliteSink(server.SqliteDatabase!))
                {
                    rareWords = SearchSeeder.Seed(sink, corpus, shape, [.. searchers.Select(s => s.Id)], n => Interlocked.Exchange(ref done, n));
                }

                await server.StartAsync(cancellationToken);
                foreach (var searcher in searchers)
                {
                    await searcher.LoginAsync(cancellationToken);
                }
            }
            else
            {
                using var sink = new SearchSeeder.PostgreSqlSink(server.PostgreSqlConnectionString!);
                rareWords = SearchSeeder.Seed(sink, corpus, shape, [.. searchers.Select(s => s.Id)], n => Interlocked.Exchange(ref done, n));
            }
        }

        var seedSeconds = clock.Elapsed.TotalSeconds;
        context.Status($"Seeded {total} messages in {shape.Users * shape.ConversationsPerUser} conversations of {shape.Users} users in {seedSeconds:F1} s");

        (string Kind, Func<int, string> Query)[] kinds =
        [
            ("common", _ => corpus.Word(0)),
            ("two", _ => $"{corpus.Word(40)} {corpus.Word(55)}"),
            ("rare", u => rareWords[u]),
            ("prefix", _ => $"{corpus.Word(11)} {corpus.Word(56)[..4]}"),
            ("title", _ => "zurich"),
        ];
        var errors = new ErrorTally();
        var buffer = new BodyBuffer();
        var empty = new Dictionary<string, int>(StringComparer.Ordinal);

        async Task<long> SearchAsync(string kind, int user, string query)
        {
            var begin = Stopwatch.GetTimestamp();
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"api/search?q={Uri.EscapeDataString(query)}&limit={settings.Limit}");
                request.Headers.Authorization = await searchers[user].GetAuthorizationAsync(cancellationToken);
                using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                await buffer.ReadAsync(response, cancellationToken);
                var elapsed = Stopwatch.GetTimestamp() - begin;
                if (response.StatusCode != HttpStatusCode.OK || !buffer.Contains("\"items\""u8))
                {
                    errors.Add($"http {(int)response.StatusCode}", buffer.ToString());
                }
                else if (buffer.Contains("\"items\":[]"u8))
                {
                    empty[kind] = empty.GetValueOrDefault(kind) + 1;
                }

                return elapsed;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                errors.Add(ex);
                return Stopwatch.GetTimestamp() - begin;
            }
        }

        context.Status($"Warm-up: every kind once per searching user; then {settings.Queries} timed queries per kind ({string.Join(", ", kinds.Select(k => $"{k.Kind}: \"{k.Query(0)}\""))})");
        for (var u = 0; u < searchers.Length; u++)
        {
            foreach (var (kind, query) in kinds)
            {
                await SearchAsync(kind, u, query(u));
            }
        }

        empty.Clear();
        var logs = kinds.ToDictionary(k => k.Kind, _ => new LatencyLog(settings.Queries), StringComparer.Ordinal);
        for (var i = 0; i < settings.Queries; i++)
        {
            var user = i % searchers.Length;
            foreach (var (kind, query) in kinds)
            {
                logs[kind].Add(await SearchAsync(kind, user, query(user)));
            }
        }

        var overall = LatencySummary.From(logs.Values);
        var report = new Report("search")
            .Add("messages", total, "stored messages")
            .Add("users", shape.Users, "users")
            .Add("searchers", searchers.Length, "searching users (take turns)")
            .Add("queries", overall.Count, "timed queries (all kinds)")
            .AddLatencies(overall, what: "every query");
        foreach (var (kind, _) in kinds)
        {
            var summary = LatencySummary.From([logs[kind]]);
            report.Add(kind + "_p50_ms", summary.Percentile(50), $"{kind}: p50 (ms)", 2)
                .Add(kind + "_p90_ms", summary.Percentile(90), $"{kind}: p90 (ms)", 2)
                .Add(kind + "_p99_ms", summary.Percentile(99), $"{kind}: p99 (ms)", 2)
                .Add(kind + "_max_ms", summary.Max, $"{kind}: max (ms)", 2);
        }

        report.Add("empty", string.Join(',', kinds.Select(k => $"{k.Kind}:{empty.GetValueOrDefault(k.Kind)}")), "timed queries with no result, per kind")
            .Add("seed_s", seedSeconds, "seeding (s)", 0)
            .Add("errors", errors.Total, "errors")
            .Add("target", target.Description, "server");
        if (server.SqliteDatabase is { } file)
        {
            report.Add("db_mb", new FileInfo(file).Length / (1024.0 * 1024), "database file (MiB)", 0);
        }

        report.Note($"Queries (first searching user): {string.Join("; ", kinds.Select(k => $"{k.Kind} \"{k.Query(0)}\""))}.");
        if (errors.Total > 0)
        {
            report.Note($"Errors: {errors.Describe()}");
        }

        return report;
    }
}
