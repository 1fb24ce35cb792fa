using System.Diagnostics;
using Parley.Bench.Client;
using Parley.Bench.Hosting;
using Parley.Bench.Seeding;

namespace Parley.Bench.Scenarios;

/// <summary>The untimed setup through the real API: users (register + login) and conversations.</summary>
internal static class Setup
{
    /// <summary>Registers and logs in <paramref name="count"/> users (password hashing makes this ~50 ms each).</summary>
    public static async Task<BenchUser[]> CreateUsersAsync(BenchContext context, ParleyClient client, int count, CancellationToken cancellationToken)
    {
        var users = new BenchUser[count];
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (i, ct) => users[i] = await client.RegisterAndLoginAsync($"bench-{context.RunId}-{i}", ct));
        context.Status($"Registered and logged in {count} users in {clock.Elapsed.TotalSeconds:F1} s");
        return users;
    }

    /// <summary>Creates <paramref name="count"/> conversations; conversation i belongs to <c>users[i % users.Length]</c>.</summary>
    public static async Task<Guid[]> CreateConversationsAsync(
        BenchContext context, ParleyClient client, BenchUser[] users, int count, int concurrency, CancellationToken cancellationToken)
    {
        var ids = new Guid[count];
        var clock = Stopwatch.StartNew();
        var done = 0;
        using var progress = new Progress(context, "conversations created", () => Volatile.Read(ref done), count);
        await Parallel.ForEachAsync(Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, concurrency), CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                ids[i] = await client.CreateConversationAsync(users[i % users.Length], null, ct);
                Interlocked.Increment(ref done);
            });
        context.Status($"Created {count} conversations in {clock.Elapsed.TotalSeconds:F1} s ({count / Math.Max(clock.Elapsed.TotalSeconds, 1e-3):F0}/s)");
        return ids;
    }

    /// <summary>
    /// Provides <paramref name="count"/> empty conversations: through the API, or (<paramref name="seed"/> = db, or auto
    /// with a self-hosted SQLite server and at least 1,000 of them) inserted straight into the stopped server's file —
    /// creating a conversation through the API is one EF Core transaction with its own fsync, about 40/s on this machine.
    /// </summary>
    public static async Task<(Guid[] Ids, string How)> ProvideConversationsAsync(
        BenchContext context, Target target, ParleyClient client, BenchUser[] users, int count, int concurrency, string seed, CancellationToken cancellationToken)
    {
        var direct = seed == "db" || (seed == "auto" && count >= 1000 && target.Server is { IsSqlite: true });
        if (!direct)
        {
            return (await CreateConversationsAsync(context, client, users, count, concurrency, cancellationToken), "api");
        }

        var server = target.Server is { IsSqlite: true } sqlite
            ? sqlite
            : throw new InvalidOperationException("--seed db needs a self-hosted SQLite server.");
        var clock = Stopwatch.StartNew();
        await server.StopAsync();
        var ids = SqliteSeeder.SeedConversations(server.SqliteDatabase!, [.. users.Select(u => u.Id)], count);
        await server.StartAsync(cancellationToken);
        context.Status($"Inserted {count} conversations into the SQLite file (server restarted) in {clock.Elapsed.TotalSeconds:F1} s");
        return (ids, "db");
    }

    /// <summary>Prints "n/total what" every 10 s while a long setup step runs.</summary>
    internal sealed class Progress : IDisposable
    {
        private readonly Timer _timer;

        public Progress(BenchContext context, string what, Func<long> done, long total)
        {
            var clock = Stopwatch.StartNew();
            _timer = new Timer(_ => context.Status($"… {done()}/{total} {what} ({clock.Elapsed.TotalSeconds:F0} s)"), null,
                TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        }

        public void Dispose() => _timer.Dispose();
    }
}
