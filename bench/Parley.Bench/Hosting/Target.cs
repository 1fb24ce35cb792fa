using Spectre.Console;

namespace Parley.Bench.Hosting;

/// <summary>The server a scenario talks to: an external one (<c>--url</c>) or a self-hosted <see cref="BenchServer"/>.</summary>
internal sealed class Target : IAsyncDisposable
{
    private Target(Uri baseAddress, BenchServer? server, string description)
    {
        BaseAddress = baseAddress;
        Server = server;
        Description = description;
    }

    public Uri BaseAddress { get; }

    /// <summary>The self-hosted server; null for <c>--url</c>.</summary>
    public BenchServer? Server { get; }

    /// <summary>"self-hosted, SQLite (synchronous FULL)", "http://…".</summary>
    public string Description { get; }

    public static Target External(Uri url) =>
        new(url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/"), null, url.AbsoluteUri);

    public static async Task<Target> SelfHostAsync(
        SelfHostSettings settings, IReadOnlyDictionary<string, string> environment, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var server = await BenchServer.StartAsync(settings, environment, console, cancellationToken);
        var database = settings.IsPostgreSql ? "PostgreSQL" : $"SQLite (synchronous {settings.SqliteSynchronous.ToUpperInvariant()})";
        return new Target(server.BaseAddress, server, $"self-hosted, {database}");
    }

    /// <summary>The self-hosted server, or an error naming the scenario that needs one.</summary>
    public BenchServer RequireServer(string scenario) =>
        Server ?? throw new InvalidOperationException($"The {scenario} scenario needs --self-host (it restarts the server and writes its database).");

    public ValueTask DisposeAsync() => Server?.DisposeAsync() ?? ValueTask.CompletedTask;
}
