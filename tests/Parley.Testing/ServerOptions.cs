namespace Parley.Testing;

/// <summary>How <see cref="ServerProcess"/> starts the server.</summary>
public sealed record ServerOptions
{
    /// <summary>
    /// Environment variables for the server (<c>Section__Key</c> syntax; null values remove inherited ones), e.g.
    /// <c>Parley__DataDirectory</c>, <c>Database__Provider</c>, <c>ConnectionStrings__Parley</c>, <c>Engine__NodeId</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>The port to listen on; when 0, a <see cref="FreePort"/> (and another one if that was taken meanwhile).</summary>
    public int Port { get; init; }

    /// <summary>The <c>Parley.Server.dll</c> to run; null for <see cref="ServerProcess.LocateServerDll"/>.</summary>
    public string? ServerDll { get; init; }

    /// <summary>
    /// The working directory of the process; null for the dll's directory. (The server's content root is the dll's
    /// directory whatever the working directory, unless configured.)
    /// </summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>How long to wait for <c>GET /readyz</c> to answer 200.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often to ask <c>/readyz</c> while starting (shorter for start-up timings).</summary>
    public TimeSpan ReadinessPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A file that every line the server writes (stdout and stderr) is appended to; null for none.</summary>
    public string? OutputFile { get; init; }
}
