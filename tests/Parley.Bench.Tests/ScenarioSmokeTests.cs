using System.Reflection;
using Parley.Testing;

namespace Parley.Bench.Tests;

/// <summary>
/// Every scenario on tiny sizes against a self-hosted server (the build of src/Parley.Server in this test's
/// configuration): it must finish with no errors and print its RESULT line. No timing is asserted. The tests of this
/// class run one after another (one server at a time).
/// </summary>
public sealed class ScenarioSmokeTests(ITestOutputHelper output)
{
    private const int Timeout = 120_000;

    [Fact(Timeout = Timeout)]
    public Task TurnsRunsWithoutErrorsAndPrintsItsResultWithTheCeiling() =>
        RunAsync("turns", ["--clients", "4", "--users", "1", "--conversations-per-client", "2", "--warmup", "0.5", "--duration", "1"],
            "turns_per_s=", "ceiling_ratio=", "mean_batch=");

    [Fact(Timeout = Timeout)]
    public Task CeilingRunsWithoutErrorsAndPrintsItsResult() =>
        RunAsync("ceiling", ["--clients", "4", "--warmup", "0.5", "--duration", "1"], "rps=");

    [Fact(Timeout = Timeout)]
    public Task ResidentMakesEveryConversationResident() =>
        RunAsync("resident", ["--conversations", "20", "--turns-per-conversation", "10", "--clients", "4", "--users", "1"],
            "resident=20 ", "turns=200 ", "bytes_per_conversation=");

    [Fact(Timeout = Timeout)]
    public Task ResidentCanInsertItsEmptyConversationsIntoTheSqliteFile() =>
        RunAsync("resident", ["--conversations", "20", "--turns-per-conversation", "2", "--clients", "4", "--users", "1", "--seed", "db"],
            "resident=20 ", "turns=40 ", "seeded=db");

    [Fact(Timeout = Timeout)]
    public Task StreamsCompleteEveryStream() =>
        RunAsync("streams", ["--streams", "20", "--chunk-delay-ms", "20", "--users", "1", "--connect-concurrency", "4", "--warmup-streams", "10"],
            "completed=20 ", "ttfc_p99_ms=");

    [Fact(Timeout = Timeout)]
    public Task FollowMeasuresTheBufferAndTheFollowersCpu() =>
        RunAsync("follow", ["--turns", "4", "--followers", "2", "--chunk-delay-ms", "300", "--users", "1", "--rounds", "1"],
            "buffer_echo_bytes=", "cpu_per_follower_chunk_us=", "follower_chunks=128 ");

    [Fact(Timeout = Timeout)]
    public Task HistoryFetchesTheMiddlePageAfterARestart() =>
        RunAsync("history", ["--messages", "100", "--page-size", "10", "--fetches", "20"], "page_start=51 ", "cold=restart", "seeded=sqlite");

    [Fact(Timeout = Timeout)]
    public Task HistorySeedsThroughTheApiWhenAsked() =>
        RunAsync("history", ["--messages", "12", "--page-size", "2", "--fetches", "3", "--seed-api"], "page_start=7 ", "seeded=api");

    [Fact(Timeout = Timeout)]
    public Task StartupTimesAStartWithSeededMessages() =>
        RunAsync("startup", ["--messages", "100", "--messages-per-conversation", "50", "--runs", "1"], "messages=100 ", "startup_ms=");

    [Fact(Timeout = Timeout)]
    public Task SearchSeedsTheDatabaseAndTimesEveryQueryKind() =>
        RunAsync("search", ["--users", "12", "--conversations-per-user", "20", "--messages-per-conversation", "6", "--searchers", "2", "--queries", "4"],
            "messages=1440 ", "queries=20 ", "common_p99_ms=", "title_p99_ms=", "empty=common:0,");

    [Fact(Timeout = Timeout)]
    public async Task AScenarioRunsAgainstAServerGivenByUrl()
    {
        var data = Directory.CreateTempSubdirectory("parley-bench-url-");
        try
        {
            await using var server = await ServerProcess.StartAsync(new ServerOptions
            {
                ServerDll = ServerDll,
                Environment = new Dictionary<string, string?> { ["Parley__DataDirectory"] = data.FullName, ["RateLimits__Enabled"] = "false" },
            }, TestContext.Current.CancellationToken);

            await RunAsync("ceiling", ["--url", server.BaseAddress.ToString(), "--clients", "2", "--warmup", "0.2", "--duration", "0.5"], ["rps="], selfHost: false);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AUrlThatIsNotAbsoluteIsRefusedWithAMessage()
    {
        using var writer = new StringWriter();

        var exitCode = await BenchApp.RunAsync(["ceiling", "--url", "not-a-url"], writer, TestContext.Current.CancellationToken);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("'not-a-url' is not an absolute URL", writer.ToString(), StringComparison.Ordinal);
    }

    private Task RunAsync(string scenario, string[] arguments, params string[] expected) => RunAsync(scenario, arguments, expected, selfHost: true);

    private async Task RunAsync(string scenario, string[] arguments, string[] expected, bool selfHost)
    {
        using var writer = new StringWriter();
        string[] target = selfHost ? ["--self-host", "--server-dll", ServerDll] : [];
        var exitCode = await BenchApp.RunAsync([scenario, .. target, .. arguments], writer, TestContext.Current.CancellationToken);
        var printed = writer.ToString();
        output.WriteLine(printed);

        var results = printed.Split('\n').Where(line => line.StartsWith("RESULT ", StringComparison.Ordinal)).ToList();
        var result = Assert.Single(results);
        Assert.StartsWith($"RESULT scenario={scenario} ", result, StringComparison.Ordinal);
        Assert.Contains(" errors=0 ", result, StringComparison.Ordinal);
        foreach (var figure in expected)
        {
            Assert.Contains(figure, result, StringComparison.Ordinal);
        }

        Assert.Equal(0, exitCode);
    }

    /// <summary>src/Parley.Server/bin/&lt;this configuration&gt;/net10.0/Parley.Server.dll (built through the project reference).</summary>
    private static string ServerDll => ServerProcess.BuildOutput(
        Repository.Root, typeof(ScenarioSmokeTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug");
}
