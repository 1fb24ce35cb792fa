using System.CommandLine;
using System.Globalization;
using Parley.Bench.Hosting;
using Parley.Bench.Measurement;
using Parley.Bench.Scenarios;
using Spectre.Console;

namespace Parley.Bench;

/// <summary>
/// The command line: <c>Parley.Bench &lt;scenario&gt; (--url URL | --self-host) [options]</c>. Each scenario prints a
/// table and one <c>RESULT scenario=…</c> line; the exit code is 0 when it ran with no errors, 1 otherwise.
/// </summary>
public static class BenchApp
{
    /// <summary>Runs the benchmark with <paramref name="args"/>, writing to <paramref name="output"/> (the console when null).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, CancellationToken cancellationToken = default)
    {
        var console = output is null
            ? AnsiConsole.Console
            : AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(output),
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
        var root = BuildCommands(console);
        var configuration = new InvocationConfiguration { Output = output ?? Console.Out, Error = output ?? Console.Error };
        return await root.Parse(args).InvokeAsync(configuration, cancellationToken);
    }

    private static RootCommand BuildCommands(IAnsiConsole console)
    {
        var url = new Option<Uri?>("--url")
        {
            Description = "An already running Parley server, e.g. http://127.0.0.1:5080 (loopback).",
            // System.CommandLine 2.0 has no built-in Uri conversion: without this parser every --url was refused.
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out var parsed))
                {
                    return parsed;
                }

                result.AddError($"--url: '{text}' is not an absolute URL.");
                return null;
            },
        };
        var selfHost = new Option<bool>("--self-host") { Description = "Start the server (the Release build of src/Parley.Server) on a free port with a temporary data directory. The default when --url is absent." };
        var serverDll = new Option<string?>("--server-dll") { Description = "Self-host this Parley.Server.dll instead of src/Parley.Server/bin/Release/net10.0." };
        var repo = new Option<string?>("--repo") { Description = "The repository root (found from the working directory by default)." };
        var provider = new Option<string>("--provider") { Description = "Self-hosted database: sqlite or postgresql.", DefaultValueFactory = _ => "sqlite" };
        provider.AcceptOnlyFromAmong("sqlite", "postgresql");
        var connection = new Option<string?>("--connection") { Description = "PostgreSQL connection string of a throwaway cluster; each server gets a fresh database on it." };
        var synchronous = new Option<string>("--sqlite-synchronous") { Description = "SQLite synchronous level of the turn writer: FULL (server default) or NORMAL.", DefaultValueFactory = _ => "FULL" };
        synchronous.AcceptOnlyFromAmong("FULL", "NORMAL", "full", "normal");
        var serverEnv = new Option<string[]>("--server-env") { Description = "Extra KEY=VALUE environment for the self-hosted server (repeatable), e.g. Engine__MaxCommitBatch=512.", AllowMultipleArgumentsPerToken = false };
        var keepData = new Option<bool>("--keep-data") { Description = "Keep the self-hosted server's temporary data directory (database, server.log)." };
        var noProbe = new Option<bool>("--no-probe") { Description = "Do not inject the counter probe (GC, contention, allocations) into the self-hosted server." };
        var during = new Option<string?>("--during")
        {
            Description = "turns/ceiling, self-hosted: a shell command started when the measured window starts, with {pid} (the server) and {seconds} substituted, "
                + "e.g. \"dotnet dotnet-trace collect -p {pid} --profile dotnet-sampled-thread-time --duration 00:00:00:{seconds} -o turns.nettrace\".",
        };
        Option[] common = [url, selfHost, serverDll, repo, provider, connection, synchronous, serverEnv, keepData, noProbe, during];

        var clients = new Option<int>("--clients") { Description = "Concurrent clients.", DefaultValueFactory = _ => 64 };
        var duration = new Option<double>("--duration") { Description = "Measured seconds.", DefaultValueFactory = _ => 20 };
        var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds before measuring (tier-up JIT takes tens of seconds on a busy 2-core box: watch jit_pct).", DefaultValueFactory = _ => 5 };
        var users = new Option<int>("--users") { Description = "Users (clients share them round-robin; registering costs ~50 ms each).", DefaultValueFactory = _ => 64 };

        var root = new RootCommand("Parley load benchmark: turns, ceiling, resident, streams, history, startup, follow, search.");

        var perClient = new Option<int>("--conversations-per-client") { Description = "Conversations each client owns (it sends to them in turn).", DefaultValueFactory = _ => 2 };
        var noCeiling = new Option<bool>("--no-ceiling") { Description = "Skip measuring the GET /healthz ceiling first." };
        var content = new Option<string>("--content") { Description = "The message text (the echo bot replies with it).", DefaultValueFactory = _ => "Hello! A short benchmark message" };
        root.Subcommands.Add(Scenario("turns", "K clients sending turns one after another (and the ceiling, for turns/s ÷ ceiling rps).",
            [clients, duration, warmup, perClient, users, noCeiling, content], console, common,
            (context, parse, ct) => TurnsScenario.RunAsync(context, new TurnsScenario.Settings(
                parse.GetValue(clients), Seconds(parse.GetValue(warmup)), Seconds(parse.GetValue(duration)), parse.GetValue(perClient),
                parse.GetValue(users), !parse.GetValue(noCeiling), parse.GetValue(content)!), ct)));

        root.Subcommands.Add(Scenario("ceiling", "K clients on GET /healthz: the HTTP ceiling.", [clients, duration, warmup], console, common,
            (context, parse, ct) => CeilingScenario.RunAsync(context, new CeilingScenario.Settings(
                parse.GetValue(clients), Seconds(parse.GetValue(warmup)), Seconds(parse.GetValue(duration))), ct)));

        var conversations = new Option<int>("--conversations") { Description = "Conversations to create and make resident.", DefaultValueFactory = _ => 100_000 };
        var seed = new Option<string>("--seed")
        {
            Description = "How the empty conversations are made: api, db (inserted into the stopped self-hosted SQLite file) or auto (db for ≥ 1,000 on self-hosted SQLite).",
            DefaultValueFactory = _ => "auto",
        };
        seed.AcceptOnlyFromAmong("auto", "api", "db");
        var turnsEach = new Option<int>("--turns-per-conversation") { Description = "Turns sent to each conversation.", DefaultValueFactory = _ => 10 };
        root.Subcommands.Add(Scenario("resident", "C conversations with T short turns each; the server's resident contexts and RSS.",
            [conversations, turnsEach, clients, users, seed], console, common,
            (context, parse, ct) => ResidentScenario.RunAsync(context, new ResidentScenario.Settings(
                parse.GetValue(conversations), parse.GetValue(turnsEach), parse.GetValue(clients), parse.GetValue(users), parse.GetValue(seed)!), ct)));

        var streams = new Option<int>("--streams") { Description = "Simultaneous streaming turns.", DefaultValueFactory = _ => 10_000 };
        var chunkDelay = new Option<int>("--chunk-delay-ms") { Description = "Self-hosted: the echo bot's pause between its 4 chunks (Bot__Echo__ChunkDelayMs).", DefaultValueFactory = _ => 500 };
        var connects = new Option<int>("--connect-concurrency") { Description = "TCP connects in flight at once while opening the connections.", DefaultValueFactory = _ => 256 };
        var streamUsers = new Option<int>("--users") { Description = "Users the streams' conversations belong to.", DefaultValueFactory = _ => 100 };
        var warmupStreams = new Option<int>("--warmup-streams") { Description = "Streams run (100 at a time) before the measured release, to warm the streaming path.", DefaultValueFactory = _ => 300 };
        var streamTimeout = new Option<double>("--timeout") { Description = "Seconds a stream may take before it counts as an error.", DefaultValueFactory = _ => 120 };
        root.Subcommands.Add(Scenario("streams", "S streaming turns (SSE) in flight at once; completion, errors, time to first chunk.",
            [streams, chunkDelay, connects, streamUsers, streamTimeout, seed, warmupStreams], console, common,
            (context, parse, ct) => StreamsScenario.RunAsync(context, new StreamsScenario.Settings(
                parse.GetValue(streams), parse.GetValue(chunkDelay), parse.GetValue(connects), parse.GetValue(streamUsers),
                Seconds(parse.GetValue(streamTimeout)), parse.GetValue(seed)!, parse.GetValue(warmupStreams)), ct)));

        var messages = new Option<int>("--messages") { Description = "Messages in the conversation.", DefaultValueFactory = _ => 10_000 };
        var pageSize = new Option<int>("--page-size") { Description = "Messages per page.", DefaultValueFactory = _ => 100 };
        var fetches = new Option<int>("--fetches") { Description = "Timed fetches of the middle page after the server restart.", DefaultValueFactory = _ => 1000 };
        var seedApi = new Option<bool>("--seed-api") { Description = "Seed through the API (turns) even when the SQLite file could be written directly." };
        root.Subcommands.Add(Scenario("history", "A long conversation: fetching a page from the middle after a restart (cold) and repeatedly.",
            [messages, pageSize, fetches, seedApi], console, common,
            (context, parse, ct) => HistoryScenario.RunAsync(context, new HistoryScenario.Settings(
                parse.GetValue(messages), parse.GetValue(pageSize), parse.GetValue(fetches), parse.GetValue(seedApi)), ct)));

        var followTurns = new Option<int>("--turns") { Description = "Turns streamed at once per round.", DefaultValueFactory = _ => 100 };
        var followers = new Option<int>("--followers") { Description = "GET /stream followers per turn.", DefaultValueFactory = _ => 4 };
        var followDelay = new Option<int>("--chunk-delay-ms") { Description = "Self-hosted: the echo bot's pause between its 16 chunks (Bot__Echo__ChunkDelayMs).", DefaultValueFactory = _ => 100 };
        var followUsers = new Option<int>("--users") { Description = "Users the conversations belong to.", DefaultValueFactory = _ => 10 };
        var rounds = new Option<int>("--rounds") { Description = "Measured rounds (each: one without followers, one with).", DefaultValueFactory = _ => 3 };
        root.Subcommands.Add(Scenario("follow", "Resumable streams: memory of a running turn's buffer, server CPU per follower per chunk.",
            [followTurns, followers, followDelay, followUsers, rounds], console, common,
            (context, parse, ct) => FollowScenario.RunAsync(context, new FollowScenario.Settings(
                parse.GetValue(followTurns), parse.GetValue(followers), parse.GetValue(followDelay), parse.GetValue(followUsers), parse.GetValue(rounds)), ct)));

        var storedMessages = new Option<int>("--messages") { Description = "Messages stored before the timed starts.", DefaultValueFactory = _ => 1_000_000 };
        var perConversation = new Option<int>("--messages-per-conversation") { Description = "Messages per seeded conversation.", DefaultValueFactory = _ => 1000 };
        var runs = new Option<int>("--runs") { Description = "Timed starts.", DefaultValueFactory = _ => 3 };
        root.Subcommands.Add(Scenario("startup", "Time from process start to /readyz 200 with many stored messages (SQLite, self-hosted).",
            [storedMessages, perConversation, runs], console, common,
            (context, parse, ct) => StartupScenario.RunAsync(context, new StartupScenario.Settings(
                parse.GetValue(storedMessages), parse.GetValue(perConversation), parse.GetValue(runs)), ct)));

        var searchUsers = new Option<int>("--users") { Description = "Users owning the data.", DefaultValueFactory = _ => 1000 };
        var searchConversations = new Option<int>("--conversations-per-user") { Description = "Conversations per user.", DefaultValueFactory = _ => 50 };
        var searchMessages = new Option<int>("--messages-per-conversation") { Description = "Messages per conversation.", DefaultValueFactory = _ => 20 };
        var searchers = new Option<int>("--searchers") { Description = "Users (registered through the API) whose searches are timed, taking turns.", DefaultValueFactory = _ => 8 };
        var queries = new Option<int>("--queries") { Description = "Timed queries per kind (common, two, rare, prefix, title).", DefaultValueFactory = _ => 200 };
        var searchLimit = new Option<int>("--limit") { Description = "Results per query (the API's limit).", DefaultValueFactory = _ => 20 };
        root.Subcommands.Add(Scenario("search", "GET /api/search over U×C×M stored messages of Zipf-distributed text: p50/p90/p99 per query kind.",
            [searchUsers, searchConversations, searchMessages, searchers, queries, searchLimit], console, common,
            (context, parse, ct) => SearchScenario.RunAsync(context, new SearchScenario.Settings(
                parse.GetValue(searchUsers), parse.GetValue(searchConversations), parse.GetValue(searchMessages),
                parse.GetValue(searchers), parse.GetValue(queries), parse.GetValue(searchLimit)), ct)));

        return root;

        Command Scenario(string name, string description, Option[] own, IAnsiConsole output, Option[] shared,
            Func<BenchContext, ParseResult, CancellationToken, Task<Report>> run)
        {
            var command = new Command(name, description);
            foreach (var option in own.Concat(shared))
            {
                command.Options.Add(option);
            }

            command.SetAction(async (parse, ct) =>
            {
                var limits = Native.RaiseOpenFileLimit();
                var target = parse.GetValue(url);
                if (target is not null && parse.GetValue(selfHost))
                {
                    output.MarkupLine("[red]Give either --url or --self-host, not both.[/]");
                    return 2;
                }

                SelfHostSettings? host = null;
                if (target is null)
                {
                    var (repoRoot, dll) = await SelfHostSettings.LocateAsync(parse.GetValue(repo), parse.GetValue(serverDll), output, ct);
                    host = new SelfHostSettings
                    {
                        RepoRoot = repoRoot,
                        ServerDll = dll,
                        Provider = parse.GetValue(provider)!,
                        ConnectionString = parse.GetValue(connection),
                        SqliteSynchronous = parse.GetValue(synchronous)!.ToUpperInvariant(),
                        ExtraEnvironment = parse.GetValue(serverEnv) ?? [],
                        Probe = !parse.GetValue(noProbe),
                        KeepData = parse.GetValue(keepData),
                    };
                }

                var context = new BenchContext(output, target, host) { WindowCommand = parse.GetValue(during) };
                var loadBefore = LoadAverage();
                context.Status($"{name}: {Environment.ProcessorCount} cores, ulimit -n {limits.Soft}/{limits.Hard}, {(host is null ? target!.ToString() : "self-hosted " + host.ServerDll)}");
                try
                {
                    var report = await run(context, parse, ct);
                    if (context.LastBuild is { } build)
                    {
                        report.Add("build", build, "server build (HEAD + dll time)");
                    }

                    report.Add("load", $"{loadBefore}/{LoadAverage()}", "1-min load average before/after (2 cores shared)");
                    report.Add("when", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), "run at (UTC)");
                    report.Print(output);
                    return report.Failed ? 1 : 0;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    output.Write(new Text($"{name} failed: {ex}\n", new Style(Color.Red)));
                    output.Profile.Out.Writer.WriteLine($"RESULT scenario={name} failed=1");
                    return 1;
                }
            });
            return command;
        }
    }

    private static TimeSpan Seconds(double seconds) => TimeSpan.FromSeconds(seconds);

    /// <summary>The 1-minute load average (Linux), to tell a quiet machine from a busy one in the results.</summary>
    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
        catch (UnauthorizedAccessException)
        {
            return "?";
        }
    }
}
