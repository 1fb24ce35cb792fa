using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Parley.Bench.Client;
using Parley.Bench.Measurement;
using Parley.Engine;

namespace Parley.Bench.Scenarios;

/// <summary>
/// <c>follow</c> (issue 10, resumable streams): what a running turn's event buffer costs in memory, and what a follower
/// (<c>GET /api/conversations/{id}/stream</c>) costs in server CPU per chunk it is sent.
/// </summary>
/// <remarks>
/// <para>Memory, in process: <see cref="TurnBuffer"/>s filled like running turns (an echo reply of 16 chunks; a
/// 1,000-token model reply of 4-character chunks), measured with <see cref="GC.GetTotalMemory(bool)"/> around thousands of
/// them — exact and independent of the machine's load.</para>
/// <para>CPU, self-hosted: T turns are streamed at once (slow echo: 16 chunks <c>--chunk-delay-ms</c> apart), once
/// without followers and once with F followers each (attached after the turn's <c>user</c> event, replaying from the
/// start); the server's CPU time of the second round minus the first, divided by the deltas the followers received,
/// is the CPU per follower per chunk (the follower's request — auth, ownership check, grain call, replay — is
/// included, spread over its chunks).</para>
/// </remarks>
internal static class FollowScenario
{
    public sealed record Settings(int Turns, int Followers, int ChunkDelayMs, int Users, int Rounds);

    private static readonly MediaTypeWithQualityHeaderValue EventStream = new("text/event-stream");

    /// <summary>32 words: the echo streams them back in 16 chunks of two.</summary>
    private static readonly string Content = string.Join(' ', Enumerable.Range(1, 32).Select(i => $"word{i}"));

    public static async Task<Report> RunAsync(BenchContext context, Settings settings, CancellationToken cancellationToken)
    {
        var report = new Report("follow");
        var (echoBytes, echoContent) = BufferBytes(10_000, chunks: 16, chunkChars: Content.Length / 16);
        var (modelBytes, modelContent) = BufferBytes(1_000, chunks: 1_000, chunkChars: 4);
        report.Add("buffer_echo_bytes", echoBytes, $"bytes per running turn's buffer, echo reply ({Content.Length} chars in 16 chunks; contents {echoContent} B)", 0)
            .Add("buffer_model_bytes", modelBytes, $"bytes per running turn's buffer, 1,000-token reply (4,000 chars in 1,000 chunks; contents {modelContent} B)", 0);

        var environment = new Dictionary<string, string>
        {
            ["Bot__Echo__ChunkDelayMs"] = settings.ChunkDelayMs.ToString(CultureInfo.InvariantCulture),
            ["Engine__MemoryUsageLimitPercentage"] = "0",
        };
        await using var target = await context.OpenTargetAsync(environment, cancellationToken);
        var server = target.RequireServer("follow");
        using var client = new ParleyClient(target.BaseAddress, 64, TimeSpan.FromMinutes(2));
        var users = await Setup.CreateUsersAsync(context, client, Math.Clamp(settings.Users, 1, settings.Turns), cancellationToken);
        var conversations = await Setup.CreateConversationsAsync(context, client, users, settings.Turns, 16, cancellationToken);
        var authorizations = await Task.WhenAll(users.Select(u => u.GetAuthorizationAsync(cancellationToken).AsTask()));
        var errors = new ErrorTally();

        // Warm-up (JIT, pools): one round with followers.
        await RoundAsync(client, target.BaseAddress, conversations, authorizations, settings.Followers, errors, cancellationToken);
        context.Status("Warm-up round done");
        double without = 0, with = 0;
        long followerChunks = 0, followers = 0;
        for (var round = 0; round < settings.Rounds; round++)
        {
            var cpu = server.CpuTime();
            await RoundAsync(client, target.BaseAddress, conversations, authorizations, 0, errors, cancellationToken);
            without += (server.CpuTime() - cpu).TotalMilliseconds;
            cpu = server.CpuTime();
            var (chunks, count) = await RoundAsync(client, target.BaseAddress, conversations, authorizations, settings.Followers, errors, cancellationToken);
            with += (server.CpuTime() - cpu).TotalMilliseconds;
            (followerChunks, followers) = (followerChunks + chunks, followers + count);
            context.Status($"Round {round + 1}: {chunks} chunks to {count} followers");
        }

        var extraMs = with - without;
        return report
            .Add("cpu_per_follower_chunk_us", followerChunks == 0 ? 0 : extraMs * 1000 / followerChunks, "server CPU µs per follower per chunk", 1)
            .Add("cpu_per_follower_us", followers == 0 ? 0 : extraMs * 1000 / followers, "server CPU µs per follower (whole turn)", 0)
            .Add("cpu_round_ms", without / settings.Rounds, $"server CPU ms per round of {settings.Turns} turns without followers", 0)
            .Add("cpu_round_followed_ms", with / settings.Rounds, $"server CPU ms per round with {settings.Followers} followers per turn", 0)
            .Add("follower_chunks", followerChunks, "deltas delivered to followers (measured rounds)")
            .Add("errors", errors.Total, "errors")
            .Add("target", target.Description, "server")
            .Note(errors.Total > 0 ? errors.Describe() : $"{settings.Turns} turns × {settings.Followers} followers × 16 chunks, {settings.Rounds} rounds; chunk delay {settings.ChunkDelayMs} ms");
    }

    /// <summary>Bytes each of <paramref name="count"/> buffers holds once a reply of <paramref name="chunks"/> chunks went through it, and its own count of its contents.</summary>
    private static (double Bytes, long Contents) BufferBytes(int count, int chunks, int chunkChars)
    {
        var chunk = new string('x', chunkChars);
        var stored = new UserMessageStored(new StoredMessage(Guid.NewGuid(), Guid.NewGuid(), 1, MessageRoles.User, "hi", MessageStatuses.Pending, null, DateTime.UtcNow), 0);
        var buffers = new TurnBuffer[count];
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < count; i++)
        {
            var buffer = new TurnBuffer(stored, 1 << 20);
            for (var c = 0; c < chunks; c++)
            {
                buffer.Append(chunk);
            }

            buffers[i] = buffer;
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        var contents = buffers[0].ContentBytes;
        GC.KeepAlive(buffers);
        return ((after - before) / (double)count, contents);
    }

    /// <summary>Streams one turn in every conversation at once; with followers, each turn gets that many GET /stream readers after its user event.</summary>
    /// <returns>Deltas the followers received, and how many followers there were.</returns>
    private static async Task<(long Chunks, long Followers)> RoundAsync(
        ParleyClient client, Uri baseAddress, Guid[] conversations, AuthenticationHeaderValue[] authorizations, int followers, ErrorTally errors,
        CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new SendMessageRequest(Content, null), BenchJson.Default.SendMessageRequest);
        long chunks = 0, count = 0;
        await Task.WhenAll(conversations.Select(async (id, i) =>
        {
            var authorization = authorizations[i % authorizations.Length];
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, $"api/conversations/{id}/messages")) { Content = ParleyClient.JsonBody(body) };
                request.Headers.Authorization = authorization;
                request.Headers.Accept.Add(EventStream);
                using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                await ParleyClient.EnsureSuccessAsync(response, "send", cancellationToken);
                var reader = new SseReader(await response.Content.ReadAsStreamAsync(cancellationToken));
                var following = new List<Task>();
                while (await reader.ReadEventAsync(cancellationToken) is { } kind)
                {
                    if (kind == SseReader.EventKind.User)
                    {
                        following.AddRange(Enumerable.Range(0, followers).Select(_ => FollowAsync(id, authorization)));
                    }
                }

                await Task.WhenAll(following);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                errors.Add(ex);
            }
        }));
        return (chunks, count);

        async Task FollowAsync(Guid id, AuthenticationHeaderValue authorization)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, $"api/conversations/{id}/stream"));
            request.Headers.Authorization = authorization;
            request.Headers.Accept.Add(EventStream);
            using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            await ParleyClient.EnsureSuccessAsync(response, "follow", cancellationToken);
            Interlocked.Increment(ref count);
            var reader = new SseReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            while (await reader.ReadEventAsync(cancellationToken) is { } kind)
            {
                if (kind == SseReader.EventKind.Delta)
                {
                    Interlocked.Increment(ref chunks);
                }
            }
        }
    }
}
