using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Parley.Server.Tests.Infrastructure;
using Parley.Testing;

namespace Parley.Server.Tests;

/// <summary>
/// Operations: the Prometheus endpoint (its content and who may scrape it), one trace per turn from the HTTP request
/// through the grain and the model call to the commits, and JSON console logs carrying the trace id in Production.
/// </summary>
public sealed class TelemetryTests(SqliteFixture fixture) : ParleyTests<SqliteFixture>(fixture)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task MetricsEndpointServesTurnsCommitsHttpOrleansAndClusterMetrics()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        await client.SendAsync(conversation.Id, "measure me");

        using var anonymous = Factory.CreateClient();
        using var response = await anonymous.GetAsync("/metrics", Cancel);
        var body = await response.Content.ReadAsStringAsync(Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        foreach (var series in new[]
                 {
                     "parley_turns_total{", "parley_turn_duration_seconds_bucket{", "parley_commit_batch_size_bucket{",
                     "parley_commit_duration_seconds_bucket{", "parley_context_resident", "parley_cluster_members{",
                     "http_server_request_duration_seconds_bucket{", "orleans_", "dotnet_gc_",
                 })
        {
            Assert.True(body.Contains(series, StringComparison.Ordinal), $"/metrics lacks {series}:\n{body[..Math.Min(body.Length, 4000)]}");
        }

        Assert.Contains("parley_cluster_members{otel_scope_name=\"Parley.Engine\",status=\"Active\"} 1", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATurnIsOneTraceFromTheRequestThroughItsGrainAndModelCallToItsCommits()
    {
        await using var fake = await FakeModelServer.StartAsync();
        var spans = new ConcurrentQueue<Activity>();
        await using var factory = await Fixture.StartFactoryAsync(
            new Dictionary<string, string?>
            {
                ["Telemetry:Tracing"] = "true",
                ["Bot:Provider"] = "openai",
                ["Bot:OpenAI:BaseUrl"] = fake.OpenAIBaseUrl,
                ["Bot:OpenAI:ApiKey"] = "sk-test",
                ["Bot:Models:0:Id"] = "fake-model",
                ["Bot:Models:0:ContextTokens"] = "8192",
                ["Bot:Models:0:MaxOutputTokens"] = "256",
                ["Bot:GenerateTitles"] = "false",
                ["Engine:CheckpointInterval"] = "00:10:00", // a slow machine must not add a checkpoint's commit to the trace
            },
            services => services.ConfigureOpenTelemetryTracerProvider(traces => traces.AddInMemoryExporter(new SpanSink(spans))));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        var turn = await client.SendAsync(conversation.Id, "trace me");

        Assert.Equal("completed", turn.AssistantMessage.Status);
        var path = $"/api/conversations/{conversation.Id}/messages";
        var request = (await WaitForAsync(spans, s => s.Kind == ActivityKind.Server && s.GetTagItem("url.path") as string == path))[0];
        var trace = request.TraceId;
        var inTrace = await WaitForAsync(spans, s => s.TraceId == trace && s.OperationName == "parley.commit", count: 2);
        var all = spans.Where(s => s.TraceId == trace).ToList();
        var names = string.Join(", ", all.Select(s => $"{s.Source.Name}:{s.DisplayName}"));
        Assert.True(all.Exists(s => s.Source.Name == "Microsoft.Orleans.Application"), $"No grain call span in the trace: {names}");
        Assert.True(all.Exists(s => s.OperationName == "parley.turn"), $"No turn span in the trace: {names}");
        Assert.True(all.Exists(s => s.Source.Name == "Parley.Models" && s.DisplayName.StartsWith("chat", StringComparison.Ordinal)),
            $"No GenAI chat span in the trace: {names}");
        Assert.True(all.Exists(s => s.Kind == ActivityKind.Client && s.Source.Name == "System.Net.Http"), $"No model HTTP call in the trace: {names}");
        Assert.Equal(2, inTrace.Count); // the user message's commit, then the reply's
        var turnSpan = all.Single(s => s.OperationName == "parley.turn");
        Assert.All(inTrace, commit => Assert.True(IsDescendant(commit, turnSpan, all), "A commit span is not inside the turn span."));
        var batch = await WaitForAsync(spans, s => s.OperationName == "parley.group_commit" && s.Links.Any(l => l.Context.SpanId == inTrace[0].SpanId));
        Assert.True((int)batch[0].GetTagItem("parley.commit.batch_size")! >= 1);
    }

    [Fact]
    public async Task MetricsAreRefusedOutsideLoopbackUnlessTheNetworkIsAllowedAndProductionLogsAreJsonWithTheTraceId()
    {
        if (LanAddress() is not { } lan)
        {
            Assert.Skip("This machine has no non-loopback IPv4 address to call the server from.");
            return;
        }

        var database = await Fixture.CreateDatabaseAsync();
        var environment = database.Environment();
        environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        environment["Jwt__SigningKey"] = TokenForge.RandomKey();
        environment["Logging__LogLevel__Default"] = "Warning";
        environment["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information";
        var (port, lanPort) = (FreePort.Next(), FreePort.Next());
        environment["Kestrel__Endpoints__Loopback__Url"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        environment["Kestrel__Endpoints__Lan__Url"] = $"http://{lan}:{lanPort.ToString(CultureInfo.InvariantCulture)}";
        using var http = new HttpClient();
        var lanMetrics = new Uri($"http://{lan}:{lanPort.ToString(CultureInfo.InvariantCulture)}/metrics");

        await using (var server = await ServerProcess.StartAsync(environment, port, StartTimeout, Cancel))
        {
            using var local = await http.GetAsync(new Uri(server.BaseAddress, "/metrics"), Cancel);
            using var remote = await http.GetAsync(lanMetrics, Cancel);
            using var proxied = new HttpRequestMessage(HttpMethod.Get, new Uri(server.BaseAddress, "/metrics")) { Headers = { { "X-Forwarded-For", "203.0.113.9" } } };
            using var throughProxy = await http.SendAsync(proxied, Cancel);
            Assert.Equal(
                (HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound),
                (local.StatusCode, remote.StatusCode, throughProxy.StatusCode));
            Assert.Contains("parley_cluster_members", await local.Content.ReadAsStringAsync(Cancel), StringComparison.Ordinal);

            using var missing = await http.GetAsync(new Uri(server.BaseAddress, "/api/no-such-endpoint"), Cancel);
            var problem = await missing.Content.ReadFromJsonAsync<JsonElement>(Cancel);
            var traceId = problem.GetProperty("traceId").GetString()!.Split('-')[1]; // W3C: 00-{trace id}-{span id}-{flags}
            var line = await WaitForLogLineAsync(server, traceId);
            using var json = JsonDocument.Parse(line);
            var scopes = json.RootElement.GetProperty("Scopes").EnumerateArray().ToList();
            Assert.Contains(scopes, scope => scope.ValueKind == JsonValueKind.Object
                && scope.TryGetProperty("TraceId", out var id) && id.GetString() == traceId);
            Assert.Equal("Information", json.RootElement.GetProperty("LogLevel").GetString());
        }

        environment["Telemetry__Prometheus__AllowedNetworks__0"] = $"{lan}/32";
        await using (var server = await ServerProcess.StartAsync(environment, port, StartTimeout, Cancel))
        {
            using var remote = await http.GetAsync(lanMetrics, Cancel);
            Assert.Equal(HttpStatusCode.OK, remote.StatusCode);
        }
    }

    private static async Task<string> WaitForLogLineAsync(ServerProcess server, string traceId)
    {
        // The console logger writes from its own queue: wait for the line to be written, however slow the machine.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (server.Output.Split('\n').FirstOrDefault(l => l.StartsWith('{') && l.Contains(traceId, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            await Task.Delay(20, Cancel);
        }

        throw new Xunit.Sdk.XunitException($"No JSON log line carries trace id {traceId}. Output:\n{server.Output}");
    }

    private static async Task<List<Activity>> WaitForAsync(ConcurrentQueue<Activity> spans, Func<Activity, bool> match, int count = 1)
    {
        // A span is exported when it ends, which for the server span is just after the response was sent.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var found = spans.Where(match).ToList();
            if (found.Count >= count)
            {
                return found;
            }

            await Task.Delay(10, Cancel);
        }

        throw new Xunit.Sdk.XunitException($"Expected {count} matching spans; saw: {string.Join(", ", spans.Select(s => s.DisplayName))}");
    }

    private static bool IsDescendant(Activity span, Activity ancestor, List<Activity> trace)
    {
        var parents = trace.ToDictionary(s => s.SpanId, s => s.ParentSpanId);
        for (var current = span.ParentSpanId; current != default; current = parents.GetValueOrDefault(current))
        {
            if (current == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }

    private static IPAddress? LanAddress() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses)
        .Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    /// <summary>The in-memory exporter's collection: every exported span, safe for the exporter's and the test's threads.</summary>
    private sealed class SpanSink(ConcurrentQueue<Activity> spans) : ICollection<Activity>
    {
        public int Count => spans.Count;

        public bool IsReadOnly => false;

        public void Add(Activity item) => spans.Enqueue(item);

        public void Clear() => spans.Clear();

        public bool Contains(Activity item) => spans.Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => spans.CopyTo(array, arrayIndex);

        public bool Remove(Activity item) => throw new NotSupportedException();

        public IEnumerator<Activity> GetEnumerator() => spans.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
