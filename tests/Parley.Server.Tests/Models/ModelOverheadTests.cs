using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using Parley.Server.Tests.Infrastructure;
using Parley.Testing;
using OpenAIReply = Parley.Server.Tests.Infrastructure.FakeModelServer.OpenAI;

namespace Parley.Server.Tests.Models;

/// <summary>
/// Measures the server CPU Parley spends per streamed chunk and per turn with a real provider (the OpenAI SDK path)
/// against <see cref="FakeModelServer"/>: the built server runs as its own process, so its CPU time
/// (<c>/proc/{pid}/stat</c> utime + stime) holds Parley's work only — the OpenAI client, the engine, the commits, the SSE
/// to the caller — and none of the fake's or the client's. Turns with 1 chunk and with 201 chunks give the two costs:
/// per chunk = (CPU₂₀₁ − CPU₁) / 200 per turn, per turn = CPU₁ − one chunk. Opt-in: <c>PARLEY_MEASURE_MODEL_OVERHEAD=1</c>
/// (use a Release server: <c>PARLEY_SERVER_DLL=src/Parley.Server/bin/Release/net10.0/Parley.Server.dll</c>).
/// </summary>
public abstract class ModelOverheadTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    private const int Turns = 400;
    private const int Clients = 4;

    [Fact]
    public async Task MeasureServerCpuPerChunkAndPerTurn()
    {
        if (Environment.GetEnvironmentVariable("PARLEY_MEASURE_MODEL_OVERHEAD") != "1")
        {
            Assert.Skip("A measurement, not a check: set PARLEY_MEASURE_MODEL_OVERHEAD=1 to run it.");
        }

        Fixture.SkipIfUnavailable();
        await using var fake = await FakeModelServer.StartAsync();
        var database = await Fixture.CreateDatabaseAsync();
        var environment = database.Environment();
        environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        environment["RateLimits__Enabled"] = "false";
        environment["Jwt__SigningKey"] = TokenForge.RandomKey();
        environment["Quota__InitialBalance"] = "100000000";
        environment["Logging__LogLevel__Default"] = "Warning";
        environment["Bot__Provider"] = "openai";
        environment["Bot__OpenAI__BaseUrl"] = fake.OpenAIBaseUrl;
        environment["Bot__OpenAI__ApiKey"] = "sk-measure";
        environment["Bot__Models__0__Id"] = "fake";
        environment["Bot__Models__0__ContextTokens"] = "16384";
        environment["Bot__Models__0__MaxOutputTokens"] = "1024";
        environment["Bot__GenerateTitles"] = "false";
        await using var server = await ServerProcess.StartAsync(environment, cancellationToken: Cancel);
        using var client = await LoginAsync(server.BaseAddress);
        var conversations = new List<Guid>();
        for (var i = 0; i < Clients; i++)
        {
            conversations.Add((await client.CreateConversationAsync($"measure {i}")).Id);
        }

        var oneChunk = Reply(1);
        var manyChunks = Reply(201);
        fake.Default = oneChunk;
        await RunAsync(client, conversations, 100); // warm-up: JIT, pools, tiered compilation
        fake.Default = manyChunks;
        await RunAsync(client, conversations, 100);

        fake.Default = oneChunk;
        var (cpuOne, wallOne) = await MeasureAsync(server.ProcessId, () => RunAsync(client, conversations, Turns));
        fake.Default = manyChunks;
        var (cpuMany, wallMany) = await MeasureAsync(server.ProcessId, () => RunAsync(client, conversations, Turns));

        await server.StopAsync();

        // The same turns with the echo bot (one chunk, no provider call): what the provider path adds to a turn.
        environment["Bot__Provider"] = "echo";
        await using var echoServer = await ServerProcess.StartAsync(environment, cancellationToken: Cancel);
        using var echoClient = await LoginAsync(echoServer.BaseAddress);
        var echoConversations = new List<Guid>();
        for (var i = 0; i < Clients; i++)
        {
            echoConversations.Add((await echoClient.CreateConversationAsync($"echo {i}")).Id);
        }

        await RunAsync(echoClient, echoConversations, 100);
        var (cpuEcho, _) = await MeasureAsync(echoServer.ProcessId, () => RunAsync(echoClient, echoConversations, Turns));

        var perChunk = (cpuMany - cpuOne).TotalMicroseconds / Turns / 200;
        var perTurn = cpuOne.TotalMicroseconds / Turns - perChunk;
        var echoTurn = cpuEcho.TotalMicroseconds / Turns;
        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Turns} turns × 1 chunk: {cpuOne.TotalMilliseconds:0} ms server CPU in {wallOne.TotalSeconds:0.0} s; " +
            $"{Turns} turns × 201 chunks: {cpuMany.TotalMilliseconds:0} ms in {wallMany.TotalSeconds:0.0} s; " +
            $"{Turns} echo turns: {cpuEcho.TotalMilliseconds:0} ms. " +
            $"Per chunk: {perChunk:0.0} µs; per turn (besides its chunks): {perTurn:0} µs, of which the provider path " +
            $"(vs. an echo turn, {echoTurn:0} µs): {perTurn - echoTurn:0} µs."));
        Assert.True(perChunk > 0 && perTurn > 0, $"per chunk {perChunk} µs, per turn {perTurn} µs");
    }

    private static FakeReply Reply(int chunks)
    {
        var parts = new List<string> { OpenAIReply.Role() };
        parts.AddRange(Enumerable.Range(0, chunks).Select(i => OpenAIReply.Content(i == 0 ? "word" : " word")));
        parts.AddRange([OpenAIReply.Finish("stop"), OpenAIReply.Usage(30, chunks), OpenAIReply.Done]);
        var body = string.Concat(parts);
        return async (_, http) =>
        {
            // One write: the fake's own cost stays out of the way (it is not in the measured process anyway).
            http.Response.ContentType = "text/event-stream";
            await http.Response.WriteAsync(body, http.RequestAborted);
        };
    }

    private static async Task RunAsync(HttpClient client, List<Guid> conversations, int turns)
    {
        var next = -1;
        await Task.WhenAll(conversations.Select(async conversation =>
        {
            while (Interlocked.Increment(ref next) < turns)
            {
                using var response = await client.PostMessageStreamingAsync(conversation, "Repeat", Cancel);
                var events = await response.ReadAllEventsAsync();
                Assert.Equal("assistant", events[^1].Type);
            }
        }));
    }

    private static async Task<(TimeSpan Cpu, TimeSpan Wall)> MeasureAsync(int pid, Func<Task> run)
    {
        var before = Cpu(pid);
        var clock = Stopwatch.StartNew();
        await run();
        return (Cpu(pid) - before, clock.Elapsed);
    }

    /// <summary>utime + stime of <paramref name="pid"/> (proc(5): fields 14 and 15, in clock ticks of 1/100 s).</summary>
    private static TimeSpan Cpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    private static async Task<HttpClient> LoginAsync(Uri server)
    {
        using var http = new HttpClient { BaseAddress = server };
        var userName = ParleyFactory.UniqueName();
        using (await http.PostAsJsonAsync("/api/auth/register", new { userName, password = ParleyFactory.Password }, Cancel))
        {
        }

        using var login = await http.PostAsJsonAsync("/api/auth/login", new { userName, password = ParleyFactory.Password }, Cancel);
        var tokens = await login.ReadAsync<TokenPairBody>();
        return new HttpClient(new BearerTokenHandler(tokens.AccessToken) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = server };
    }
}

public sealed class ModelOverheadOnSqlite(SqliteFixture fixture) : ModelOverheadTests<SqliteFixture>(fixture);

public sealed class ModelOverheadOnPostgreSql(PostgreSqlFixture fixture) : ModelOverheadTests<PostgreSqlFixture>(fixture);
