namespace Parley.Testing;

/// <summary>The server process exited before it was ready (a setting out of range, a database it cannot reach…).</summary>
public sealed class ServerExitedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="exitCode">The process's exit code.</param>
    /// <param name="output">The last lines it wrote to stdout and stderr.</param>
    public ServerExitedException(int exitCode, string output)
        : base($"Parley.Server exited with {exitCode} before it was ready. Output:\n{output}")
    {
        ExitCode = exitCode;
        Output = output;
    }

    /// <summary>The process's exit code.</summary>
    public int ExitCode { get; }

    /// <summary>The last lines it wrote to stdout and stderr.</summary>
    public string Output { get; }
}
