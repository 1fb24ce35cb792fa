using Parley.Testing;
using Spectre.Console;

namespace Parley.Bench.Hosting;

/// <summary>How to self-host the server: where the build is, which database, extra settings.</summary>
internal sealed class SelfHostSettings
{
    /// <summary>The repository root (holds <c>Parley.slnx</c>).</summary>
    public required string RepoRoot { get; init; }

    /// <summary>The built <c>Parley.Server.dll</c>.</summary>
    public required string ServerDll { get; init; }

    /// <summary><c>sqlite</c> or <c>postgresql</c>.</summary>
    public string Provider { get; init; } = "sqlite";

    /// <summary>PostgreSQL: the cluster's connection string; each server gets a fresh database on it.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>SQLite <c>synchronous</c> of the turn writer (FULL, the server's default, or NORMAL).</summary>
    public string SqliteSynchronous { get; init; } = "FULL";

    /// <summary>Extra <c>KEY=VALUE</c> environment for the server (win over the scenario's).</summary>
    public IReadOnlyList<string> ExtraEnvironment { get; init; } = [];

    /// <summary>Inject the counter probe (a startup hook) into the server.</summary>
    public bool Probe { get; init; } = true;

    /// <summary>Keep the temporary data directory afterwards.</summary>
    public bool KeepData { get; init; }

    public bool IsPostgreSql => Provider.Equals("postgresql", StringComparison.OrdinalIgnoreCase);

    /// <summary>"&lt;HEAD commit&gt;+&lt;dll time&gt;": which build was measured (others rebuild the shared Release output).</summary>
    public async Task<string> DescribeBuildAsync(CancellationToken cancellationToken)
    {
        var time = File.GetLastWriteTimeUtc(ServerDll).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            var head = await Command.RunAsync("git", ["-C", RepoRoot, "rev-parse", "--short", "HEAD"], TimeSpan.FromSeconds(5), cancellationToken);
            return $"{head.Trim()}+dll@{time}";
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            return $"dll@{time}";
        }
    }

    /// <summary>
    /// Finds the repository (from <paramref name="repo"/>, else upwards from the working directory and from this program)
    /// and the server build (<paramref name="serverDll"/>, else the Release build, which is built when missing).
    /// </summary>
    public static async Task<(string RepoRoot, string ServerDll)> LocateAsync(string? repo, string? serverDll, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var root = repo is not null ? Path.GetFullPath(repo) : Repository.FindRoot(Environment.CurrentDirectory) ?? Repository.FindRoot(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException($"Cannot find the Parley repository ({Repository.Marker}) above the working directory; pass --repo.");
        if (serverDll is not null)
        {
            var dll = Path.GetFullPath(serverDll);
            return File.Exists(dll) ? (root, dll) : throw new FileNotFoundException($"--server-dll {dll} does not exist.");
        }

        var release = ServerProcess.BuildOutput(root, "Release");
        if (!File.Exists(release))
        {
            console.MarkupLineInterpolated($"[yellow]No Release build of the server at {release}: running dotnet build -c Release src/Parley.Server[/]");
            await Command.RunAsync(
                "dotnet", ["build", "-c", "Release", Path.Combine(root, "src", "Parley.Server", "Parley.Server.csproj"), "-nologo", "-v", "q"],
                TimeSpan.FromMinutes(15), cancellationToken);
        }

        return (root, release);
    }

    /// <summary>
    /// Copies the build output next to <paramref name="serverDll"/> (with its wwwroot and appsettings.json: the server's
    /// content root is its own directory) into <paramref name="directory"/> and returns the copied dll: other engineers
    /// rebuild the shared output while runs are going, and a restart must start the same build.
    /// </summary>
    public static string Snapshot(string serverDll, string directory)
    {
        var source = Path.GetDirectoryName(serverDll)!;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("data" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue; // the default data directory of a server once run from the build output
            }

            var target = Path.Combine(directory, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }

        return Path.Combine(directory, Path.GetFileName(serverDll));
    }
}
