using System.Net;
using System.Net.Sockets;

namespace RedLockNet.TestRig;

/// <summary>Hands out free loopback TCP ports, never one that this process still has in use.</summary>
internal static class FreePorts
{
    private static readonly HashSet<int> InUse = [];
    private static readonly Lock Gate = new();

    /// <summary>Asks the OS for a free port on 127.0.0.1 and reserves it until <see cref="Release"/>.</summary>
    public static int Reserve()
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            int port;
            var listener = new TcpListener(IPAddress.Loopback, 0);
            try
            {
                listener.Start();
                port = ((IPEndPoint)listener.LocalEndpoint).Port;
            }
            finally
            {
                listener.Stop();
            }

            lock (Gate)
            {
                if (InUse.Add(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException("Could not find a free loopback port that this process is not already using.");
    }

    /// <summary>Forgets a port handed out by <see cref="Reserve"/>.</summary>
    public static void Release(int port)
    {
        lock (Gate)
        {
            InUse.Remove(port);
        }
    }
}
