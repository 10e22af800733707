using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace RedLockNet.Chaos;

/// <summary>
/// A TCP forwarder on a free 127.0.0.1 port to a node (adapted from the unit tests' LoopbackProxy) that, once
/// <see cref="Slow"/> is set, holds every chunk for a seeded random delay in [<see cref="MinDelay"/>, <see cref="MaxDelay"/>] before forwarding it.
/// </summary>
public sealed class SlowProxy : IAsyncDisposable
{
    private readonly TcpListener listener;
    private readonly int targetPort;
    private readonly CancellationTokenSource stop = new();
    private readonly Task accepting;
    private readonly Random random;
    private readonly Lock gate = new();

    public SlowProxy(int targetPort, int seed)
    {
        this.targetPort = targetPort;
        random = new Random(seed);
        listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        accepting = AcceptAsync();
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    private volatile bool slow;

    public bool Slow
    {
        get => slow;
        set => slow = value;
    }

    public TimeSpan MinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(stop.Token);
            _ = PipeAsync(client);
        }
    }

    private TimeSpan NextDelay()
    {
        lock (gate)
        {
            var span = (MaxDelay - MinDelay).TotalMilliseconds;
            return MinDelay + TimeSpan.FromMilliseconds(random.NextDouble() * span);
        }
    }

    private async Task CopyAsync(NetworkStream from, NetworkStream to, CancellationToken token)
    {
        // chunks are read at once and written when due, so delays do not pile up behind one another
        var queue = Channel.CreateUnbounded<(long Due, byte[] Bytes)>();
        var writer = Task.Run(async () =>
        {
            await foreach (var (due, bytes) in queue.Reader.ReadAllAsync(token))
            {
                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), token);
                }

                await to.WriteAsync(bytes, token);
            }
        }, token);
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer, token);
                if (n == 0)
                {
                    return;
                }

                var due = Slow ? Stopwatch.GetTimestamp() + (long)(NextDelay().TotalSeconds * Stopwatch.Frequency) : 0;
                await queue.Writer.WriteAsync((due, buffer.AsSpan(0, n).ToArray()), token);
            }
        }
        finally
        {
            queue.Writer.TryComplete();
            try
            {
                await writer;
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task PipeAsync(TcpClient client)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, targetPort, stop.Token);
                var a = client.GetStream();
                var b = upstream.GetStream();
                await Task.WhenAny(CopyAsync(a, b, stop.Token), CopyAsync(b, a, stop.Token));
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
