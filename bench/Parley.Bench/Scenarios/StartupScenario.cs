using System.Diagnostics;
using Parley.Bench.Measurement;
using Parley.Bench.Client;
using Parley.Bench.Seeding;

namespace Parley.Bench.Scenarios;

/// <summary>
/// <c>startup</c>: the server creates its SQLite schema once, conversations are created through the API, the server is
/// stopped and M messages are bulk-inserted into the file in one transaction; then the time from process start to the
/// first <c>/readyz</c> 200 is taken over several starts (client clock, 5 ms polling).
/// </summary>
internal static class StartupScenario
{
    public sealed record Settings(int Messages, int MessagesPerConversation, int Runs);

    public static async Task<Report> RunAsync(BenchContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var target = await context.OpenTargetAsync(new Dictionary<string, string>(), cancellationToken);
        var server = target.RequireServer("startup");
        if (!server.IsSqlite)
        {
            throw new InvalidOperationException("The startup scenario seeds the SQLite file directly; run it with --provider sqlite.");
        }

        var perConversation = Math.Clamp(settings.MessagesPerConversation, 2, settings.Messages) / 2 * 2;
        var count = (settings.Messages + perConversation - 1) / perConversation;
        BenchUser user;
        Guid[] conversations;
        using (var client = new ParleyClient(target.BaseAddress))
        {
            var users = await Setup.CreateUsersAsync(context, client, 1, cancellationToken);
            user = users[0];
            conversations = await Setup.CreateConversationsAsync(context, client, users, count, 16, cancellationToken);
        }

        await server.StopAsync();
        var empty = await server.StartAsync(cancellationToken);
        await server.StopAsync();

        var clock = Stopwatch.StartNew();
        long written;
        using (new Setup.Progress(context, "messages seeded", () => 0, (long)count * perConversation))
        {
            written = SqliteSeeder.Seed(server.SqliteDatabase!, conversations, perConversation);
        }

        var size = new FileInfo(server.SqliteDatabase!).Length;
        context.Status($"Seeded {written} messages in {count} conversations in {clock.Elapsed.TotalSeconds:F1} s ({size / (1024 * 1024)} MiB)");

        var runs = new List<TimeSpan>();
        for (var run = 0; run < settings.Runs; run++)
        {
            var elapsed = await server.StartAsync(cancellationToken);
            runs.Add(elapsed);
            context.Status($"Start {run + 1}: ready in {elapsed.TotalMilliseconds:F0} ms");
            if (run == 0)
            {
                using var client = new ParleyClient(target.BaseAddress);
                user.Use(client);
                await user.LoginAsync(cancellationToken);
                var stored = await client.GetConversationAsync(user, conversations[^1], cancellationToken);
                if (stored.MessageCount != perConversation)
                {
                    throw new InvalidOperationException($"A seeded conversation reports {stored.MessageCount} messages, not {perConversation}.");
                }
            }

            await server.StopAsync();
        }

        var sorted = runs.Order().ToArray();
        return new Report("startup")
            .Add("messages", written, "stored messages")
            .Add("conversations", count, "conversations")
            .Add("startup_ms", runs[0].TotalMilliseconds, "first start → /readyz 200 (ms)", 0)
            .Add("median_ms", sorted[sorted.Length / 2].TotalMilliseconds, "median start (ms)", 0)
            .Add("max_ms", sorted[^1].TotalMilliseconds, "slowest start (ms)", 0)
            .Add("runs_ms", string.Join('/', runs.Select(r => r.TotalMilliseconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture))), "every start (ms)")
            .Add("empty_ms", empty.TotalMilliseconds, "start with the schema and no messages (ms)", 0)
            .Add("db_mb", size / (1024.0 * 1024), "database file (MiB)", 0)
            .Add("errors", 0, "errors")
            .Add("target", target.Description, "server");
    }
}
