using System.Net;
using Parley.Bench.Client;
using Parley.Bench.Measurement;

namespace Parley.Bench.Scenarios;

/// <summary><c>ceiling</c>: the same closed loop as <c>turns</c> on <c>GET /healthz</c> — what the HTTP stack alone sustains on this machine.</summary>
internal static class CeilingScenario
{
    public sealed record Settings(int Clients, TimeSpan Warmup, TimeSpan Duration);

    public static async Task<Report> RunAsync(BenchContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var target = await context.OpenTargetAsync(new Dictionary<string, string>(), cancellationToken);
        using var client = new ParleyClient(target.BaseAddress);
        context.Status($"Ceiling: {settings.Clients} clients on GET /healthz for {settings.Warmup.TotalSeconds:F0}+{settings.Duration.TotalSeconds:F0} s");
        await using var window = new ServerWindow(target, client, context.WindowCommand, settings.Duration);
        var result = await MeasureAsync(client, settings.Clients, settings.Warmup, settings.Duration, window.OnWindowAsync, cancellationToken);
        var report = new Report("ceiling")
            .Add("clients", settings.Clients, "clients")
            .Add("rps", result.PerSecond, "requests per second", 0)
            .AddLatencies(result.Latencies, what: "request latency")
            .Add("errors", result.AllErrors, "errors (warm-up included)")
            .Add("requests", result.Operations, "requests measured");
        window.AddTo(report, result.Operations, "requests");
        return report.Add("target", target.Description, "server").Note(TurnsScenario.Describe(result));
    }

    public static Task<LoadResult> MeasureAsync(
        ParleyClient client, int clients, TimeSpan warmup, TimeSpan duration, Func<bool, Task>? onWindow, CancellationToken cancellationToken)
    {
        var health = new Uri(client.Http.BaseAddress!, "healthz");
        var buffers = Enumerable.Range(0, clients).Select(_ => new BodyBuffer()).ToArray();
        return LoadLoop.RunAsync(clients, warmup, duration, async (i, ct) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, health);
            using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            await buffers[i].ReadAsync(response, ct);
            return response.StatusCode == HttpStatusCode.OK ? null : $"http {(int)response.StatusCode}: {buffers[i]}";
        }, onWindow, cancellationToken);
    }
}
