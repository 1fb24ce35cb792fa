using System.Runtime.InteropServices;

namespace Parley.Testing;

/// <summary>Sends POSIX signals to a process by its id (Linux and macOS).</summary>
public static partial class Signals
{
    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    /// <summary>
    /// Sends SIGTERM, as systemd or Kubernetes would: ASP.NET Core then shuts down gracefully.
    /// </summary>
    /// <param name="pid">The process id.</param>
    /// <returns>False on Windows or when the signal could not be sent (the process is gone).</returns>
    public static bool Terminate(int pid) => !OperatingSystem.IsWindows() && SendSignal(pid, SigTerm) == 0;
}
