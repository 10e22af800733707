using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Security;

/// <summary>How a <see cref="HostileProxy"/> answers a lock command (EVALSHA, EVAL, SET) instead of the node.</summary>
public enum Lie
{
    /// <summary>The node's own reply.</summary>
    None,

    /// <summary>An integer where OK, nil or an array is expected.</summary>
    Number,

    /// <summary>A bulk string where OK, an integer or an array is expected.</summary>
    BulkString,

    /// <summary>Arrays inside arrays, with strings where integers belong.</summary>
    NestedArrays,

    /// <summary>An array of the right length whose elements are strings, not integers.</summary>
    StringElements,

    /// <summary>A real 8 MB bulk string.</summary>
    Huge,

    /// <summary>A 64 MB bulk length header, a little of its body, then the connection closes.</summary>
    HugeHeaderThenClose,

    /// <summary>Every other lock reply is an error, the others are the node's: errors in the middle of a pipeline.</summary>
    ErrorEveryOther,

    /// <summary>The first half of the node's reply, then the connection closes.</summary>
    TruncatedThenClose,
}

/// <summary>
/// A RESP-aware proxy on a free 127.0.0.1 port in front of one TLS node: clients speak plain RESP to it, it speaks TLS
/// to the node, pairs every reply with its request and, while <see cref="Lie"/> says so, replaces the replies to lock
/// commands (EVALSHA, EVAL, SET). Every other reply (the handshake, INFO, PING, pub/sub) passes unchanged.
/// </summary>
internal sealed class HostileProxy : IAsyncDisposable
{
    private static readonly string[] LockCommands = ["EVALSHA", "EVAL", "SET"];
    private readonly TcpListener _listener;
    private readonly TestNode _node;
    private readonly SecurityFiles _tls;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _accepting;
    private int _lockReplies;
    private int _lies;

    public HostileProxy(TestNodeCluster cluster, int node)
    {
        _node = cluster.Nodes[node];
        _tls = cluster.SecurityFiles ?? throw new ArgumentException("The cluster does not speak TLS.", nameof(cluster));
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _accepting = AcceptAsync();
    }

    /// <summary>Where clients connect (plain RESP).</summary>
    public string Endpoint { get; }

    /// <summary>The lie told from now on (read per reply).</summary>
    public Lie Lie { get; set; }

    /// <summary>How many replies to lock commands were replaced so far.</summary>
    public int Lies => Volatile.Read(ref _lies);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAll([_accepting, .. _connections]).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _connections.Add(RelayAsync(client));
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _node.Port, closing.Token);
                await using var tls = new SslStream(upstream.GetStream());
                await tls.AuthenticateAsClientAsync(_tls.ClientTls(), closing.Token);
                var downstream = client.GetStream();
                var commands = new ConcurrentQueue<string>();
                var requests = ForwardRequestsAsync(new RespReader(downstream), tls, commands, closing.Token);
                var replies = ForwardRepliesAsync(new RespReader(tls), downstream, commands, closing.Token);
                await Task.WhenAny(requests, replies);
                await closing.CancelAsync();
                await Task.WhenAll(requests, replies).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // the other side ends with the streams
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
            {
            }
            finally
            {
                await closing.CancelAsync(); // closes both sides: a lie that ends the connection ends it here
            }
        }
    }

    private static async Task ForwardRequestsAsync(RespReader client, Stream node, ConcurrentQueue<string> commands, CancellationToken cancellationToken)
    {
        while (await client.ReadFrameAsync(cancellationToken) is { } frame)
        {
            commands.Enqueue(RespReader.CommandName(frame));
            await node.WriteAsync(frame, cancellationToken);
        }
    }

    private async Task ForwardRepliesAsync(RespReader node, Stream client, ConcurrentQueue<string> commands, CancellationToken cancellationToken)
    {
        while (await node.ReadFrameAsync(cancellationToken) is { } reply)
        {
            var command = reply[0] == (byte)'>' || !commands.TryDequeue(out var name) ? "" : name; // a RESP3 push answers nothing
            var lie = LockCommands.Contains(command) ? Lie : Lie.None;
            var (bytes, close) = Tell(lie, reply);
            if (!ReferenceEquals(bytes, reply))
            {
                Interlocked.Increment(ref _lies);
            }

            await client.WriteAsync(bytes, cancellationToken);
            if (close)
            {
                await client.FlushAsync(cancellationToken);
                return;
            }
        }
    }

    private (byte[] Bytes, bool Close) Tell(Lie lie, byte[] reply) => lie switch
    {
        Lie.Number => (Ascii(":7\r\n"), false),
        Lie.BulkString => (Ascii("$7\r\nhostile\r\n"), false),
        Lie.NestedArrays => (Ascii("*2\r\n*2\r\n:1\r\n*1\r\n$1\r\nx\r\n*0\r\n"), false),
        Lie.StringElements => (Ascii("*2\r\n$1\r\n1\r\n$2\r\n42\r\n"), false),
        Lie.Huge => (HugeReply.Value, false),
        Lie.HugeHeaderThenClose => ([.. Ascii("$67108864\r\n"), .. new byte[4096]], true),
        Lie.ErrorEveryOther => Interlocked.Increment(ref _lockReplies) % 2 == 0 ? (Ascii("-ERR hostile reply\r\n"), false) : (reply, false),
        Lie.TruncatedThenClose => (reply[..Math.Max(1, reply.Length / 2)], true),
        _ => (reply, false),
    };

    private static readonly Lazy<byte[]> HugeReply = new(() =>
    {
        var header = Ascii($"${8 * 1024 * 1024}\r\n");
        var reply = new byte[header.Length + (8 * 1024 * 1024) + 2];
        header.CopyTo(reply, 0);
        reply.AsSpan(header.Length, 8 * 1024 * 1024).Fill((byte)'h');
        reply[^2] = (byte)'\r';
        reply[^1] = (byte)'\n';
        return reply;
    });

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}

/// <summary>Reads whole RESP2/RESP3 frames, as raw bytes, from a stream.</summary>
internal sealed class RespReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    /// <summary>The next complete frame; null when the stream ended.</summary>
    public async Task<byte[]?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var frame = new MemoryStream();
        return await ReadValueAsync(frame, cancellationToken) ? frame.ToArray() : null;
    }

    /// <summary>The upper-cased first element of a request (an array of bulk strings), or "" for anything else.</summary>
    public static string CommandName(byte[] frame)
    {
        var text = Encoding.ASCII.GetString(frame, 0, Math.Min(frame.Length, 64));
        var lines = text.Split("\r\n");
        return text.StartsWith('*') && lines.Length > 2 && lines[1].StartsWith('$') ? lines[2].ToUpperInvariant() : "";
    }

    private async Task<bool> ReadValueAsync(MemoryStream frame, CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(cancellationToken);
        if (line is null)
        {
            return false;
        }

        frame.Write(line);
        frame.Write("\r\n"u8);
        var length = line.Length > 1 && long.TryParse(line.AsSpan(1), out var n) ? n : 0;
        switch ((char)line[0])
        {
            case '$' or '!' or '=' when length >= 0:
                return await CopyAsync(frame, length + 2, cancellationToken);
            case '*' or '~' or '>':
                return await ReadValuesAsync(frame, length, cancellationToken);
            case '%':
                return await ReadValuesAsync(frame, 2 * length, cancellationToken);
            case '|':
                return await ReadValuesAsync(frame, 2 * length, cancellationToken) && await ReadValueAsync(frame, cancellationToken);
            default:
                return true;
        }
    }

    private async Task<bool> ReadValuesAsync(MemoryStream frame, long count, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            if (!await ReadValueAsync(frame, cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    private async Task<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (end >= 0)
            {
                var line = _buffer.AsSpan(_start, end).ToArray();
                _start += end + 2;
                return line;
            }

            if (!await FillAsync(cancellationToken))
            {
                return null;
            }
        }
    }

    private async Task<bool> CopyAsync(MemoryStream frame, long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (_start == _end && !await FillAsync(cancellationToken))
            {
                return false;
            }

            var take = (int)Math.Min(count, _end - _start);
            frame.Write(_buffer, _start, take);
            _start += take;
            count -= take;
        }

        return true;
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            throw new InvalidDataException("A RESP line longer than 64 KB.");
        }

        var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        _end += read;
        return read > 0;
    }
}
