using System.Diagnostics;
using System.Text;

namespace Parley.Testing;

/// <summary>Runs a short-lived command to completion and captures its output.</summary>
public static class Command
{
    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/>; throws with the output when it exits non-zero.</summary>
    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{Describe(start)}' did not finish within {timeout}. Output:\n{Text(output)}");
        }

        process.WaitForExit(); // flush the asynchronous output readers
        return process.ExitCode == 0
            ? Text(output)
            : throw new InvalidOperationException($"'{Describe(start)}' exited with {process.ExitCode}. Output:\n{Text(output)}");
    }

    /// <summary>Wraps a command so it runs as <paramref name="user"/> (via <c>runuser</c>) when this process runs as root.</summary>
    public static (string FileName, IEnumerable<string> Arguments) AsUser(string user, string fileName, params string[] arguments) =>
        IsRoot ? ("runuser", ["-u", user, "--", fileName, .. arguments]) : (fileName, arguments);

    /// <summary>True when this process runs as root (PostgreSQL refuses to run as root).</summary>
    public static bool IsRoot => OperatingSystem.IsLinux() && Environment.UserName == "root";

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static string Describe(ProcessStartInfo start) => string.Join(' ', [start.FileName, .. start.ArgumentList]);
}
