using Parley.Bench.Hosting;
using Spectre.Console;

namespace Parley.Bench;

/// <summary>What every scenario gets: the console, where the server is (or how to host it), and a run id for unique names.</summary>
internal sealed class BenchContext(IAnsiConsole console, Uri? url, SelfHostSettings? selfHost)
{
    public IAnsiConsole Console { get; } = console;

    /// <summary>Prefix for user names, unique per run so runs against a shared server do not collide.</summary>
    public string RunId { get; } = Guid.NewGuid().ToString("N")[..8];

    public bool IsSelfHosted => selfHost is not null;

    /// <summary><c>--during</c>: a shell command run for the measured window of turns/ceiling ({pid}, {seconds} substituted).</summary>
    public string? WindowCommand { get; init; }

    public SelfHostSettings? SelfHost => selfHost;

    /// <summary>Starts a self-hosted server with the scenario's settings, or points at <c>--url</c>.</summary>
    public Task<Target> OpenTargetAsync(IReadOnlyDictionary<string, string> serverEnvironment, CancellationToken cancellationToken) =>
        selfHost is not null
            ? Target.SelfHostAsync(selfHost, serverEnvironment, Console, cancellationToken)
            : Task.FromResult(Target.External(url!));

    public void Status(string message) => Console.MarkupLineInterpolated($"[grey]{DateTime.Now:HH:mm:ss} {message}[/]");
}
