using System.Net;
using System.Net.Sockets;

namespace Parley.Testing;

/// <summary>Picks TCP ports on the loopback interface that nothing listens on.</summary>
public static class FreePort
{
    private static readonly HashSet<int> Handed = [];
    private static readonly Lock Gate = new();

    /// <summary>
    /// Returns a port on 127.0.0.1 that the operating system just reported free and that this process has not handed
    /// out before. The port is released before returning, so another process could still take it: callers that bind
    /// it should be ready to retry with a new port.
    /// </summary>
    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (Gate)
            {
                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
