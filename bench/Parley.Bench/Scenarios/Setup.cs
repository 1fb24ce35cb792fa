using System.Diagnostics;
using Parley.Bench.Client;

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
