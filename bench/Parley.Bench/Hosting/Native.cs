using System.Runtime.InteropServices;

namespace Parley.Bench.Hosting;

/// <summary>The libc calls the benchmark needs on Linux: raising the open-file limit (SIGTERM is Parley.Testing's <c>Signals</c>).</summary>
internal static partial class Native
{
    private const int RlimitNoFile = 7; // RLIMIT_NOFILE on Linux

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, in RLimit limit);

    /// <summary>
    /// Raises this process's soft <c>ulimit -n</c> to its hard limit (children, like a self-hosted server, inherit it).
    /// Returns (soft, hard) after the attempt; (0, 0) where unsupported.
    /// </summary>
    public static (ulong Soft, ulong Hard) RaiseOpenFileLimit()
    {
        if (!OperatingSystem.IsLinux() || getrlimit(RlimitNoFile, out var limit) != 0)
        {
            return (0, 0);
        }

        if (limit.Current < limit.Maximum)
        {
            var raised = new RLimit { Current = limit.Maximum, Maximum = limit.Maximum };
            if (setrlimit(RlimitNoFile, raised) == 0)
            {
                limit = raised;
            }
        }

        return (limit.Current, limit.Maximum);
    }
}
