using System.Net;
using System.Net.Sockets;
using Garnet;

namespace RedLockNet.Samples;

/// <summary>
/// Redis-compatible nodes (Microsoft Garnet) hosted in this process on free loopback ports, so a sample runs with one
/// command and no servers to install. Linked into each sample that starts them (samples/Shared).
/// </summary>
internal sealed class EmbeddedNodes : IDisposable
{
    private readonly GarnetServer?[] _servers;

    public EmbeddedNodes(int count)
    {
        _servers = new GarnetServer?[count];
        Endpoints = new string[count];
        var console = Console.Out;
        Console.SetOut(TextWriter.Null); // Garnet prints a banner per server
        try
        {
            Start(count);
        }
        finally
        {
            Console.SetOut(console);
        }
    }

    private void Start(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var port = FreePort();
            var server = new GarnetServer(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--lua", "true", "--lua-transaction-mode", "true", "--logger-level", "None"]);
            server.Start();
            _servers[i] = server;
            Endpoints[i] = $"127.0.0.1:{port}";
        }
    }

    public string[] Endpoints { get; }

    /// <summary>Stops node <paramref name="index"/> abruptly; its data is gone.</summary>
    public void Kill(int index)
    {
        _servers[index]?.Dispose();
        _servers[index] = null;
    }

    public void Dispose()
    {
        for (var i = 0; i < _servers.Length; i++)
        {
            Kill(i);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
