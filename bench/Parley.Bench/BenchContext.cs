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

    /// <summary>The build of the last self-hosted server (for the report).</summary>
    public string? LastBuild { get; private set; }

    /// <summary>Starts a self-hosted server with the scenario's settings, or points at <c>--url</c>.</summary>
    public async Task<Target> OpenTargetAsync(IReadOnlyDictionary<string, string> serverEnvironment, CancellationToken cancellationToken)
    {
        if (selfHost is null)
        {
            return Target.External(url!);
        }

        var target = await Target.SelfHostAsync(selfHost, serverEnvironment, Console, cancellationToken);
        LastBuild = target.Server!.Build;
        return target;
    }

    public void Status(string message) => Console.MarkupLineInterpolated($"[grey]{DateTime.Now:HH:mm:ss} {message}[/]");
}
