using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Rig;

/// <summary>
/// The chaos suite's <see cref="FaultProxy"/> against a tiny in-process line server that answers each request line
/// with "reply:" + the line and records what it received: what passes, what is dropped, and that a connection that
/// lost a reply is reset when the fault is lifted instead of handing the next reply to the wrong request.
/// </summary>
public sealed class FaultProxyTests
{
    private static readonly TimeSpan Silence = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task None_forwards_and_Slow_delays_every_chunk_within_its_bounds()
    {
        await using var server = new LineServer();
        await using var proxy = new FaultProxy(server.Port, seed: 1) { MinDelay = TimeSpan.FromMilliseconds(150), MaxDelay = TimeSpan.FromMilliseconds(200) };
        using var client = await LineClient.ConnectAsync(proxy.Port);
        Assert.Equal("reply:a", await client.RequestAsync("a", TimeSpan.FromSeconds(5)));

        proxy.Fault = LinkFault.Slow;
        var clock = Stopwatch.StartNew();
        Assert.Equal("reply:b", await client.RequestAsync("b", TimeSpan.FromSeconds(5)));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(290), TimeSpan.FromSeconds(5)); // two chunks, each >= 150 ms
        Assert.Equal(0, proxy.Resets);
    }

    [Fact]
    public async Task Blackhole_passes_nothing_either_way_and_a_healed_connection_is_reset_not_desynced()
    {
        await using var server = new LineServer();
        await using var proxy = new FaultProxy(server.Port);
        using var idle = await LineClient.ConnectAsync(proxy.Port);
        using var client = await LineClient.ConnectAsync(proxy.Port);
        Assert.Equal("reply:1", await client.RequestAsync("1", TimeSpan.FromSeconds(5)));

        proxy.Fault = LinkFault.Blackhole;
        Assert.Null(await client.RequestAsync("2", Silence));
        Assert.DoesNotContain("2", server.Received);
        using var late = await LineClient.ConnectAsync(proxy.Port); // still accepted: the partition hides, it does not refuse
        Assert.Null(await late.RequestAsync("3", Silence));

        proxy.Fault = LinkFault.None;
        Assert.Equal(2, proxy.Resets); // client and late lost bytes; idle lost nothing
        await Assert.ThrowsAnyAsync<IOException>(() => client.RequestAsync("4", TimeSpan.FromSeconds(5)));
        Assert.Equal("reply:5", await idle.RequestAsync("5", TimeSpan.FromSeconds(5)));
        using var fresh = await LineClient.ConnectAsync(proxy.Port);
        Assert.Equal("reply:6", await fresh.RequestAsync("6", TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task DropReplies_lets_requests_act_and_the_next_reply_never_answers_the_lost_one()
    {
        await using var server = new LineServer();
        await using var proxy = new FaultProxy(server.Port);
        using var client = await LineClient.ConnectAsync(proxy.Port);
        Assert.Equal("reply:set", await client.RequestAsync("set", TimeSpan.FromSeconds(5)));

        proxy.Fault = LinkFault.DropReplies;
        Assert.Null(await client.RequestAsync("grant", Silence));
        Assert.Contains("grant", server.Received); // the server acted; the client never learned

        proxy.Fault = LinkFault.None;
        Assert.Equal(1, proxy.Resets);
        // without the reset, "reply:grant" or "reply:ping" would arrive here and a pipelining client would take it
        // as the answer to whatever it still waits for
        await Assert.ThrowsAnyAsync<IOException>(() => client.RequestAsync("ping", TimeSpan.FromSeconds(5)));
        using var fresh = await LineClient.ConnectAsync(proxy.Port);
        Assert.Equal("reply:ping", await fresh.RequestAsync("ping", TimeSpan.FromSeconds(5)));
    }

    /// <summary>Answers every line with "reply:" + the line; records the lines.</summary>
    private sealed class LineServer : IAsyncDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource stop = new();
        private readonly Task accepting;

        public LineServer()
        {
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            accepting = AcceptAsync();
        }

        public int Port { get; }

        public ConcurrentQueue<string> Received { get; } = new();

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            await accepting.ContinueWith(_ => { }, TaskScheduler.Default);
            stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var connection = await listener.AcceptTcpClientAsync(stop.Token);
                _ = ServeAsync(connection);
            }
        }

        private async Task ServeAsync(TcpClient connection)
        {
            using (connection)
            {
                try
                {
                    var stream = connection.GetStream();
                    using var reader = new StreamReader(stream, Encoding.ASCII);
                    while (await reader.ReadLineAsync(stop.Token) is { } line)
                    {
                        Received.Enqueue(line);
                        await stream.WriteAsync(Encoding.ASCII.GetBytes($"reply:{line}\n"), stop.Token);
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
                {
                }
            }
        }
    }

    /// <summary>One connection; a request is a line, its reply the next line read.</summary>
    private sealed class LineClient : IDisposable
    {
        private readonly TcpClient tcp;
        private readonly NetworkStream stream;
        private readonly StreamReader reader;
        private Task<string?>? pending;

        private LineClient(TcpClient tcp)
        {
            this.tcp = tcp;
            stream = tcp.GetStream();
            reader = new StreamReader(stream, Encoding.ASCII);
        }

        public static async Task<LineClient> ConnectAsync(int port)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
            return new LineClient(tcp);
        }

        /// <summary>The next line within <paramref name="timeout"/>, else null (the read stays pending for the next call); IOException when reset or closed.</summary>
        public async Task<string?> RequestAsync(string line, TimeSpan timeout)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"), TestContext.Current.CancellationToken);
            pending ??= reader.ReadLineAsync();
            if (await Task.WhenAny(pending, Task.Delay(timeout, TestContext.Current.CancellationToken)) != pending)
            {
                return null;
            }

            var read = pending;
            pending = null;
            return await read ?? throw new IOException("closed by the peer");
        }

        public void Dispose()
        {
            reader.Dispose();
            tcp.Dispose();
        }
    }
}
