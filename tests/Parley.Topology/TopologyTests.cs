using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Npgsql;
using Parley.Testing;

namespace Parley.Topology;

/// <summary>
/// Parley scaled out (docs/scaling.md): three nodes share one PostgreSQL, clustered by Orleans through its membership table there, behind nginx round robin
/// (deploy/nginx/parley.conf, rendered as is). Half the turns bypass nginx and go to a random node, so several nodes
/// write the same conversations at once, and one node is killed with SIGKILL and restarted mid-run. Afterwards every
/// conversation is checked in PostgreSQL and through the API; the routing is checked in nginx's access log.
/// </summary>
/// <remarks>
/// Needs PostgreSQL's server binaries and nginx (Debian packages <c>postgresql</c> and <c>nginx</c>): without them the
/// test is skipped, loudly, except under <c>CI=true</c>, where it fails. Run it alone with
/// <c>dotnet test tests/Parley.Topology -c Release</c> (add <c>--logger "console;verbosity=detailed"</c> to see the counts).
/// </remarks>
public sealed class TopologyTests
{
    private const int Users = 10;
    private const int ConversationsPerUser = 5;
    private const int LowBalanceUsers = 2;
    private const long LowBalance = 1_500; // 15 messages, shared by 20 clients on several nodes: exercises the conditional charge
    private const long InitialBalance = 1_000_000;
    private const long Cost = 100;
    private const int RevocationPollSeconds = 1;
    private static readonly TimeSpan TurnTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan KillAfter = TimeSpan.FromSeconds(10);
    // Down (plus ~10 s to start again) for longer than TurnTimeout + 10 s: the other nodes settle some of its pending
    // turns as abandoned before it is back, and it settles the rest itself at start-up; both paths run.
    private static readonly TimeSpan DownFor = TimeSpan.FromSeconds(15);
    // The issue's bound: a dead node's conversations are served by the others within 5 s (membership probes: ClusterSetup.Probes).
    private static readonly TimeSpan MaxUnavailability = TimeSpan.FromSeconds(5);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public void TheRenderedNginxConfigIsTheDeployedOneWithLoopbackNodes()
    {
        var template = File.ReadAllText(Path.Combine(Repository.Root, "deploy", "nginx", "parley.conf"));

        var rendered = NginxProcess.Render(template, 18080, [18081, 18082, 18083], TimeSpan.FromSeconds(2));

        Assert.Contains("listen 127.0.0.1:18080;", rendered, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^\s*listen 8080;", rendered);
        foreach (var port in new[] { 18081, 18082, 18083 })
        {
            Assert.Contains($"server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;", rendered, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("svc.cluster.local", rendered, StringComparison.Ordinal);
        // Everything outside the node list is the deployed file, unchanged.
        var outside = (string text) => text[..text.IndexOf("# BEGIN parley nodes", StringComparison.Ordinal)]
            + text[text.IndexOf("# END parley nodes", StringComparison.Ordinal)..].Replace("listen 127.0.0.1:18080;", "listen 8080;", StringComparison.Ordinal);
        Assert.Equal(outside(template), outside(rendered));
        Assert.DoesNotMatch(@"(?m)^\s*hash\s", rendered); // plain round robin: no hash directive
    }

    [Fact]
    public async Task MisroutedTurnsAndANodeCrashLeaveEveryConversationConsistent()
    {
        var nginxBinary = RequireTools();
        var clock = Stopwatch.StartNew();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        deadline.CancelAfter(TimeSpan.FromMinutes(6)); // a hung run fails instead of blocking CI
        var cancel = deadline.Token;

        await using var topology = await Topology.StartAsync(new Dictionary<string, string>
        {
            ["Engine__TurnTimeout"] = TurnTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["Bot__Echo__ChunkDelayMs"] = "5",
            ["Quota__InitialBalance"] = InitialBalance.ToString(CultureInfo.InvariantCulture),
            ["Quota__CostPerMessage"] = Cost.ToString(CultureInfo.InvariantCulture),
            ["Jwt__RevocationPollSeconds"] = RevocationPollSeconds.ToString(CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Parley"] = "Information",
        }, nginxBinary, cancel);
        var started = clock.Elapsed;

        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1_000,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };

        try
        {
            var users = await CreateUsersAsync(topology, http, cancel);
            var loadStarted = clock.Elapsed;

            // Load, with node-2 killed and restarted in the middle of it.
            using var stopPolling = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            var polling = PollCountersAsync(topology, http, stopPolling.Token);
            var workload = new Workload(topology, users, http);
            var load = workload.RunAsync(LoadDuration, seed: 4, cancel);
            var crash = CrashAndRestartAsync(topology.Nodes[1], cancel);
            var outcomes = await load;
            var (restartTook, killedAt, killedAtUtc) = await crash;
            var loadEnded = clock.Elapsed;

            // Settle: the killed node settled its own pending turns at restart; anything abandoned is settled by
            // TurnTimeout + 10 s. Wait that long at most, plus slack for a loaded machine.
            var verifier = new Verifier(topology.ConnectionString, users, outcomes, Cost);
            var pendingLeft = await verifier.WaitForSettledAsync(TurnTimeout + TimeSpan.FromSeconds(25), cancel);
            var settleTook = clock.Elapsed - loadEnded;
            await stopPolling.CancelAsync();
            await polling;
            foreach (var node in topology.Nodes)
            {
                await node.PollCountersAsync(http, cancel);
            }

            await verifier.VerifyDatabaseAsync(cancel);
            await verifier.VerifyApiAsync(http, topology.Nginx.BaseAddress, cancel);
            var violations = verifier.Violations.Concat(CheckStatuses(outcomes)).ToList();
            var routing = AnalyseRouting(topology, killedAtUtc);
            var unavailable = Unavailability(outcomes, killedAtUtc);
            TimeSpan revocation;
            string? revocationError = null;
            try
            {
                revocation = await MeasureRevocationAsync(topology, http, cancel);
            }
            catch (Exception ex) when (ex is Xunit.Sdk.IAssertionException or HttpRequestException)
            {
                (revocation, revocationError) = (TimeSpan.MaxValue, ex.Message);
            }

            var report = Report(outcomes, topology, verifier, violations.Count, pendingLeft, routing, revocation, unavailable,
                started, loadStarted, killedAt, restartTook, loadEnded, settleTook, clock.Elapsed);
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            TestContext.Current.SendDiagnosticMessage(report);

            Assert.True(violations.Count == 0,
                $"{violations.Count} violations:\n{string.Join('\n', violations.Take(30).Select(v => "  - " + v))}\n\n{report}\n\n{topology.Diagnostics()}");
            var payable = outcomes.Count(o => !o.Attempts.Any(a => a is "402" or "sse-402"));
            Assert.True(outcomes.Count(o => o.Ack is not null) >= payable / 2, $"Too few turns were acknowledged to mean anything.\n{report}");
            Assert.True(routing.Unkeyed.Count >= 2, $"Requests without a conversation id all went to one node: round-robin fallback broken.\n{report}");
            Assert.True(routing.Spread * 2 > routing.Conversations,
                $"Round robin should spread most conversations' requests over several nodes; {routing.Spread} of {routing.Conversations} were.\n{report}");
            Assert.True(unavailable <= MaxUnavailability,
                $"Some conversation was not served again until {Seconds(unavailable)} after the kill (at most {MaxUnavailability.TotalSeconds:F0} s).\n{report}");
            Assert.True(revocationError is null, $"Measuring revocation failed: {revocationError}\n{report}");
            Assert.True(revocation <= TimeSpan.FromSeconds(RevocationPollSeconds + 3),
                $"A logout on node-1 took {Seconds(revocation)} to reach node-3 (poll interval {RevocationPollSeconds} s).\n{report}");
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.IAssertionException and not OperationCanceledException)
        {
            throw new InvalidOperationException($"The topology run failed: {ex.Message}\n\n{topology.Diagnostics()}", ex);
        }
    }

    /// <summary>The nginx binary; skips (locally) or fails (CI=true) when PostgreSQL or nginx is missing.</summary>
    internal static string RequireTools()
    {
        var nginx = NginxProcess.FindBinary();
        var missing = new List<string>();
        if (PostgresCluster.FindBinDirectory() is null)
        {
            missing.Add($"PostgreSQL server binaries (Debian package 'postgresql', or ${PostgresCluster.BinDirectoryVariable})");
        }

        if (nginx is null)
        {
            missing.Add($"nginx (Debian package 'nginx', or ${NginxProcess.BinaryVariable})");
        }

        if (missing.Count == 0)
        {
            return nginx!;
        }

        var reason = $"TOPOLOGY TEST NOT RUN: missing {string.Join(" and ", missing)}. Install them: apt-get install -y postgresql nginx.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(reason + " (CI=true: the topology test must run.)");
        }

        Assert.Skip(reason);
        return null!;
    }

    /// <summary>Registers and logs in the users through nginx (round-robin: tokens minted on one node are used on all), creates their conversations, and gives the first users a low balance.</summary>
    private static async Task<IReadOnlyList<TestUser>> CreateUsersAsync(Topology topology, HttpClient http, CancellationToken cancel)
    {
        var nginx = topology.Nginx.BaseAddress;
        var run = Guid.NewGuid().ToString("N")[..6];
        var users = await Task.WhenAll(Enumerable.Range(0, Users).Select(async i =>
        {
            var name = $"topo{i:D2}_{run}";
            const string password = "Topology-1!";
            (await http.PostAsJsonAsync(new Uri(nginx, "api/auth/register"), new RegisterBody(name, password), Json.Options, cancel)).EnsureSuccessStatusCode();
            using var login = await http.PostAsJsonAsync(new Uri(nginx, "api/auth/login"), new LoginBody(name, password), Json.Options, cancel);
            login.EnsureSuccessStatusCode();
            var token = (await login.Content.ReadFromJsonAsync<TokenPairDto>(Json.Options, cancel))!.AccessToken;
            var conversations = new List<Guid>();
            for (var c = 0; c < ConversationsPerUser; c++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(nginx, "api/conversations"))
                {
                    Content = JsonContent.Create(new { title = $"topology {i}.{c}" }),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var created = await http.SendAsync(request, cancel);
                created.EnsureSuccessStatusCode();
                conversations.Add((await created.Content.ReadFromJsonAsync<ConversationDto>(Json.Options, cancel))!.Id);
            }

            return (name, token, conversations);
        }));

        await using var connection = new NpgsqlConnection(topology.ConnectionString);
        await connection.OpenAsync(cancel);
        var result = new List<TestUser>();
        for (var i = 0; i < users.Length; i++)
        {
            var balance = i < LowBalanceUsers ? LowBalance : InitialBalance;
            await using var command = new NpgsqlCommand(
                "UPDATE \"AspNetUsers\" SET \"TokenBalance\" = @balance WHERE \"UserName\" = @name RETURNING \"Id\"", connection);
            command.Parameters.AddWithValue("balance", balance);
            command.Parameters.AddWithValue("name", users[i].name);
            var id = (Guid)(await command.ExecuteScalarAsync(cancel))!;
            result.Add(new TestUser(users[i].name, id, users[i].token, users[i].conversations, balance));
        }

        return result;
    }

    /// <summary>Kills the node with SIGKILL after <see cref="KillAfter"/>, keeps it down for <see cref="DownFor"/>, restarts it (same port, same NodeId).</summary>
    private static async Task<(TimeSpan RestartTook, TimeSpan KilledAt, DateTimeOffset KilledAtUtc)> CrashAndRestartAsync(Node node, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        await Task.Delay(KillAfter, cancel);
        var killedAt = clock.Elapsed;
        var killedAtUtc = DateTimeOffset.UtcNow;
        node.Kill();
        await Task.Delay(DownFor, cancel);
        var restart = Stopwatch.StartNew();
        await node.StartAsync(cancel);
        return (restart.Elapsed, killedAt, killedAtUtc);
    }

    private static async Task PollCountersAsync(Topology topology, HttpClient http, CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            foreach (var node in topology.Nodes)
            {
                await node.PollCountersAsync(http, cancel);
            }

            try
            {
                await Task.Delay(500, cancel);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Outcomes no run may produce whatever crashes: 4xx other than the expected 402s of low-balance users, 500s, protocol errors.</summary>
    private static IEnumerable<string> CheckStatuses(IReadOnlyList<TurnOutcome> outcomes)
    {
        foreach (var outcome in outcomes)
        {
            foreach (var attempt in outcome.Attempts)
            {
                if (attempt is "402" or "sse-402")
                {
                    if (outcome.User.InitialBalance != LowBalance)
                    {
                        yield return $"turn {outcome.ClientMessageId}: 402 for user {outcome.User.UserName}, whose balance cannot run out";
                    }
                }
                else if (attempt != "200" && attempt != "timeout" && !Workload.IsRetryable(attempt))
                {
                    yield return $"turn {outcome.ClientMessageId}: unexpected outcome '{attempt}'";
                }
            }
        }
    }

    /// <param name="Unkeyed">The nodes that answered requests without a conversation id.</param>
    /// <param name="Spread">Conversations whose requests through nginx reached more than one node while every node was up (round robin: most of them).</param>
    /// <param name="Conversations">Conversations nginx saw requests for while every node was up.</param>
    /// <param name="Requests">Requests nginx logged with an upstream.</param>
    private sealed record Routing(IReadOnlySet<string> Unkeyed, int Spread, int Conversations, int Requests);

    /// <summary>From nginx's access log: which nodes answered requests without a conversation id, and how many conversations' requests were spread over several nodes before the kill.</summary>
    private static Routing AnalyseRouting(Topology topology, DateTimeOffset killedAt)
    {
        var entries = topology.Nginx.AccessLog.Where(e => e.Upstream.Length > 0).ToList();
        var unkeyed = entries.Where(e => e.Conversation.Length == 0).Select(e => e.Upstream).ToHashSet();
        var beforeKill = entries.Where(e => e.Conversation.Length > 0 && e.Time < killedAt.AddSeconds(-1)).GroupBy(e => e.Conversation).ToList();
        return new Routing(unkeyed, beforeKill.Count(g => g.Select(e => e.Upstream).Distinct().Count() > 1), beforeKill.Count, entries.Count);
    }

    /// <summary>A measured duration for the report: seconds with two decimals, or "never" for <see cref="TimeSpan.MaxValue"/> (not seen).</summary>
    private static string Seconds(TimeSpan duration) =>
        duration == TimeSpan.MaxValue ? "never (not within the run)" : string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:F2} s");

    /// <summary>
    /// How long the killed node's conversations were unavailable: for each conversation that clients kept sending to
    /// after the kill (402s aside: those users ran out of tokens), the start of the first attempt begun after the kill
    /// that was acknowledged; the latest of those, measured from the kill.
    /// </summary>
    private static TimeSpan Unavailability(IReadOnlyList<TurnOutcome> outcomes, DateTimeOffset killedAt)
    {
        var latest = killedAt;
        foreach (var conversation in outcomes.GroupBy(o => o.ConversationId))
        {
            var after = conversation.SelectMany(o => o.Timeline).Where(t => t.Started >= killedAt && !t.Label.EndsWith("402", StringComparison.Ordinal)).ToList();
            if (after.Count == 0)
            {
                continue;
            }

            var served = after.Where(t => t.Label == "200").Select(t => t.Started).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
            latest = served > latest ? served : latest;
        }

        return latest == DateTimeOffset.MaxValue ? TimeSpan.MaxValue : latest - killedAt;
    }

    /// <summary>Logs a session out on node-1 and measures how long its access token keeps working on node-3.</summary>
    private static async Task<TimeSpan> MeasureRevocationAsync(Topology topology, HttpClient http, CancellationToken cancel)
    {
        var (first, third) = (topology.Nodes[0].BaseAddress, topology.Nodes[2].BaseAddress);
        var name = "revoke_" + Guid.NewGuid().ToString("N")[..8];
        const string password = "Topology-1!";
        (await http.PostAsJsonAsync(new Uri(first, "api/auth/register"), new RegisterBody(name, password), Json.Options, cancel)).EnsureSuccessStatusCode();
        using var login = await http.PostAsJsonAsync(new Uri(first, "api/auth/login"), new LoginBody(name, password), Json.Options, cancel);
        var token = (await login.Content.ReadFromJsonAsync<TokenPairDto>(Json.Options, cancel))!.AccessToken;

        async Task<HttpStatusCode> StatusAsync(HttpMethod method, Uri uri)
        {
            using var request = new HttpRequestMessage(method, uri);
            if (method == HttpMethod.Post)
            {
                request.Content = JsonContent.Create(new { }); // logout answers 404 without a JSON body
            }

            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request, cancel);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(HttpMethod.Get, new Uri(third, "api/users/me/balance")));
        Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(HttpMethod.Post, new Uri(first, "api/auth/logout")));
        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(HttpMethod.Get, new Uri(first, "api/users/me/balance")));
        while (clock.Elapsed < TimeSpan.FromSeconds(RevocationPollSeconds + 10))
        {
            if (await StatusAsync(HttpMethod.Get, new Uri(third, "api/users/me/balance")) == HttpStatusCode.Unauthorized)
            {
                return clock.Elapsed;
            }

            await Task.Delay(50, cancel);
        }

        return TimeSpan.MaxValue;
    }

    /// <summary>"fail:" entries of a node's console log, grouped by category and the start of their message.</summary>
    private static IEnumerable<string> ErrorSummaries(string output)
    {
        // Production logs are JSON lines (appsettings.Production.json); the simple console format starts errors with "fail: ".
        var lines = output.Split('\n');
        var simple = lines.Select((line, i) => (line, i))
            .Where(l => l.line.StartsWith("fail: ", StringComparison.Ordinal) && l.i + 1 < lines.Length)
            .Select(l => $"{l.line[6..].Trim()} {Truncate(lines[l.i + 1].Trim(), 110)}");
        var json = lines.Where(line => line.StartsWith('{') && (line.Contains("\"LogLevel\":\"Error\"", StringComparison.Ordinal)
                || line.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal)))
            .Select(JsonSummary).OfType<string>();
        return simple.Concat(json).GroupBy(summary => summary).Select(g => $"{g.Count()} x {g.Key}");
    }

    private static string? JsonSummary(string line)
    {
        try
        {
            using var entry = System.Text.Json.JsonDocument.Parse(line);
            var root = entry.RootElement;
            return $"{root.GetProperty("Category").GetString()} {Truncate(root.GetProperty("Message").GetString() ?? "", 110)}";
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // a line cut by the output buffer
        }
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "…";

    private static string Report(
        IReadOnlyList<TurnOutcome> outcomes, Topology topology, Verifier verifier, int violations, long pendingLeft, Routing routing,
        TimeSpan revocation, TimeSpan unavailable, TimeSpan started, TimeSpan loadStarted, TimeSpan killedAt, TimeSpan restartTook, TimeSpan loadEnded, TimeSpan settleTook, TimeSpan total)
    {
        var attempts = outcomes.SelectMany(o => o.Attempts).ToList();
        var errors = attempts.Where(a => a != "200").GroupBy(a => a).OrderByDescending(g => g.Count())
            .Select(g => $"{g.Key}: {g.Count()}");
        var counters = topology.Nodes.Select(n => n.Counters).Aggregate(EngineCounters.Zero, (a, b) => a + b);
        var deadlocks = topology.ReadDeadlocks();
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Topology run: PostgreSQL + {Topology.NodeCount} Parley nodes + nginx; {Users} users x {ConversationsPerUser} conversations, 200 clients, {LoadDuration.TotalSeconds:F0} s of load, half the attempts straight to a random node.");
        text.AppendLine(CultureInfo.InvariantCulture, $"  turns sent {outcomes.Count}, acknowledged {outcomes.Count(o => o.Ack is not null)} ({outcomes.Count(o => o.AckStreamed)} as SSE streams, {outcomes.Count(o => o.Ack is not null && !o.SentTwice && o.Attempts.Count > 1)} after a retry with the same clientMessageId), not acknowledged {outcomes.Count(o => o.Ack is null)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  sent twice at once (same clientMessageId, two targets): {outcomes.Count(o => o.SentTwice)}, both copies acknowledged (as the same stored turn) {outcomes.Count(o => o.Acks.Count == 2)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  attempts {attempts.Count}; errors by status: {(attempts.All(a => a == "200") ? "none" : string.Join(", ", errors))}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  stored {verifier.Messages} messages; stored but never acknowledged {verifier.StoredUnacknowledged}; refunded (failed) {verifier.Refunded}; pending after the settle window {pendingLeft}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  engine (sum over nodes and lives): conflicts retried {counters.Conflicts}, recovered {counters.Recovered}, replayed {counters.Replayed}, completed {counters.TurnsCompleted}, failed {counters.TurnsFailed}; PostgreSQL deadlocks {deadlocks.Count}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  turns settled by a node other than the one that took them, or at restart (recovered), per node life: {string.Join(", ", topology.Nodes.Select(n => $"{n.NodeId} {string.Join(" then ", n.Lives.Select(l => l.Recovered))}"))}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  routing (nginx round robin, {routing.Requests} requests): {routing.Spread} of {routing.Conversations} conversations reached several nodes before the kill; requests without an id went to {routing.Unkeyed.Count} nodes");
        text.AppendLine(CultureInfo.InvariantCulture, $"  unavailability: every conversation was acknowledged again by {Seconds(unavailable)} after the kill (first acknowledged attempt begun after it)");
        text.AppendLine(CultureInfo.InvariantCulture, $"  revocation: a logout on node-1 reached node-3 after {Seconds(revocation)} (poll {RevocationPollSeconds} s)");
        text.AppendLine(CultureInfo.InvariantCulture, $"  node-2 killed (SIGKILL) {killedAt.TotalSeconds:F1} s into the load, restarted after {DownFor.TotalSeconds:F0} s down, ready in {restartTook.TotalSeconds:F1} s");
        text.AppendLine(CultureInfo.InvariantCulture, $"  violations {violations}");
        var nodeErrors = topology.Nodes.SelectMany(n => ErrorSummaries(n.Output).Select(e => $"{n.NodeId}: {e}")).ToList();
        if (nodeErrors.Count > 0)
        {
            text.AppendLine("  errors the nodes logged (from each node's last 500 output lines):");
            text.AppendLine(string.Join('\n', nodeErrors.Take(12).Select(e => "    | " + e)));
        }

        if (deadlocks.Count > 0)
        {
            text.AppendLine("  first deadlock (PostgreSQL log; each aborts one node's group-commit transaction, which its writer then reruns):");
            text.AppendLine(string.Join('\n', deadlocks.Sample.TrimEnd().Split('\n').Select(line => "    | " + line.TrimEnd())));
        }

        text.Append(CultureInfo.InvariantCulture, $"  duration {total.TotalSeconds:F1} s (start {started.TotalSeconds:F1} s: {topology.StartPhases}; users ready {loadStarted.TotalSeconds:F1} s, load until {loadEnded.TotalSeconds:F1} s, settle {settleTook.TotalSeconds:F1} s)");
        return text.ToString();
    }
}
