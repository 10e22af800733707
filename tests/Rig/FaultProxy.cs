using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace RedLockNet.TestRig;

/// <summary>What a <see cref="FaultProxy"/> does to the bytes of every connection through it, current and future.</summary>
public enum LinkFault
{
    /// <summary>Bytes pass both ways at once.</summary>
    None,

    /// <summary>Every chunk, either way, is held for a seeded random delay in [MinDelay, MaxDelay]; nothing is lost.</summary>
    Slow,

    /// <summary>Connections stay open (new ones are accepted) but nothing passes either way: a partition.</summary>
    Blackhole,

    /// <summary>Requests reach the server, replies are discarded: the server acts but the client never learns.</summary>
    DropReplies,
}

/// <summary>
/// A TCP forwarder on a free 127.0.0.1 port to a node's port, whose <see cref="Fault"/> applies to every connection
/// through it and can be flipped at any time (<c>proxy.Fault = LinkFault.Blackhole</c>). A connection that lost
/// bytes (<see cref="LinkFault.Blackhole"/>, <see cref="LinkFault.DropReplies"/>) passes nothing more and is reset
/// (RST) when the fault is lifted, as TCP gives up on a connection after its retransmission timeout: the client
/// reconnects cleanly instead of reading a reply that belongs to an earlier request (a desynchronized RESP stream).
/// A connection that lost nothing survives the fault untouched.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener listener;
    private readonly CancellationTokenSource stop = new();
    private readonly Task accepting;
    private readonly Random random;
    private readonly Lock gate = new();
    private readonly HashSet<Link> links = [];
    private LinkFault fault;
    private int resets;

    /// <summary>Starts listening on a free loopback port; connections are forwarded to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    /// <param name="targetPort">The node's port.</param>
    /// <param name="seed">Seeds the delays of <see cref="LinkFault.Slow"/>.</param>
    public FaultProxy(int targetPort, int seed = 0)
    {
        TargetPort = targetPort;
        random = new Random(seed);
        listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        accepting = AcceptAsync();
    }

    /// <summary>The proxy's own loopback port.</summary>
    public int Port { get; }

    /// <summary>The port connections are forwarded to.</summary>
    public int TargetPort { get; }

    /// <summary>The proxy's address as <c>127.0.0.1:port</c>: give it to a client instead of the node's.</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>Shortest delay of <see cref="LinkFault.Slow"/>. Default 100 ms.</summary>
    public TimeSpan MinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest delay of <see cref="LinkFault.Slow"/>. Default 500 ms.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How many connections were reset because they had lost bytes when a fault was lifted.</summary>
    public int Resets => Volatile.Read(ref resets);

    /// <summary>
    /// The fault now applied to every connection. Setting a fault that passes bytes (<see cref="LinkFault.None"/>,
    /// <see cref="LinkFault.Slow"/>) resets, before it returns, every connection that lost bytes.
    /// </summary>
    public LinkFault Fault
    {
        get
        {
            lock (gate)
            {
                return fault;
            }
        }

        set
        {
            List<Link> doomed;
            lock (gate)
            {
                fault = value;
                if (Drops(value))
                {
                    return;
                }

                // under the gate: no chunk can be dropped between the change and the scan
                doomed = [.. links.Where(l => l.LostBytes)];
            }

            foreach (var link in doomed)
            {
                Interlocked.Increment(ref resets);
                link.Reset();
            }
        }
    }

    /// <summary>Stops accepting and closes every connection.</summary>
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

        List<Link> open;
        lock (gate)
        {
            open = [.. links];
        }

        foreach (var link in open)
        {
            link.Reset();
        }

        stop.Dispose();
    }

    private static bool Drops(LinkFault value) => value is LinkFault.Blackhole or LinkFault.DropReplies;

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(stop.Token);
            _ = PipeAsync(client);
        }
    }

    /// <summary>What to do with one chunk read from one side: drop it (marking the link), or forward it when due.</summary>
    private bool Admit(Link link, bool reply, out long due)
    {
        due = 0;
        lock (gate)
        {
            var drop = link.LostBytes || fault == LinkFault.Blackhole || (fault == LinkFault.DropReplies && reply);
            if (drop)
            {
                link.LostBytes = true;
                return false;
            }

            if (fault == LinkFault.Slow)
            {
                var span = (MaxDelay - MinDelay).TotalSeconds;
                due = Stopwatch.GetTimestamp() + (long)((MinDelay.TotalSeconds + (random.NextDouble() * span)) * Stopwatch.Frequency);
            }

            return true;
        }
    }

    private async Task CopyAsync(Link link, NetworkStream from, NetworkStream to, bool reply, CancellationToken token)
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

                if (!link.LostBytes)
                {
                    await to.WriteAsync(bytes, token);
                }
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

                if (Admit(link, reply, out var due))
                {
                    await queue.Writer.WriteAsync((due, buffer.AsSpan(0, n).ToArray()), token);
                }
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
        using var upstream = new TcpClient();
        using var link = new Link(client, upstream, stop.Token);
        lock (gate)
        {
            links.Add(link);
        }

        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, TargetPort, link.Token);
            var a = client.GetStream();
            var b = upstream.GetStream();
            await Task.WhenAny(CopyAsync(link, a, b, reply: false, link.Token), CopyAsync(link, b, a, reply: true, link.Token));
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            lock (gate)
            {
                links.Remove(link);
            }

            link.Reset();
        }
    }

    /// <summary>One client connection and its upstream connection.</summary>
    private sealed class Link(TcpClient client, TcpClient upstream, CancellationToken stopping) : IDisposable
    {
        private readonly CancellationTokenSource cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        private volatile bool lostBytes;
        private int reset;

        public CancellationToken Token => cts.Token;

        /// <summary>Whether a chunk was dropped; from then on nothing passes. Set under the proxy's gate.</summary>
        public bool LostBytes
        {
            get => lostBytes;
            set => lostBytes = value;
        }

        /// <summary>Aborts both connections; the client's side with an RST (linger 0), as a timed-out TCP connection ends.</summary>
        public void Reset()
        {
            if (Interlocked.Exchange(ref reset, 1) != 0)
            {
                return;
            }

            // sockets first: cancelling can run the pipe's continuations inline, which dispose the clients
            var near = client.Client;
            var far = upstream.Client;
            try
            {
                near.LingerState = new LingerOption(true, 0);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }

            near.Close();
            far?.Close();
            try
            {
                cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // the pipe already ended (closing the sockets can run it to the end inline)
            }
        }

        public void Dispose()
        {
            Reset();
            client.Dispose();
            cts.Dispose();
        }
    }
}
