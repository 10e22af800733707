using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RedLockNet.Tests.Unit.Rig;

/// <summary>A deliberately tiny RESP client: one command per fresh loopback connection, with a hard timeout.</summary>
internal static class MiniResp
{
    /// <summary>
    /// Sends one command to 127.0.0.1:<paramref name="port"/> and returns the reply: a simple string or bulk
    /// string as text, an integer as its digits, <see langword="null"/> for a nil bulk string.
    /// </summary>
    /// <exception cref="SocketException">The connection was refused.</exception>
    /// <exception cref="TimeoutException">No full reply within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The server replied with an error.</exception>
    public static async Task<string?> CommandAsync(int port, TimeSpan timeout, CancellationToken cancellationToken, params string[] command)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var client = new TcpClient(AddressFamily.InterNetwork);
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, deadline.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encode(command), deadline.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
            var line = await reader.ReadLineAsync(deadline.Token) ?? throw new IOException("The server closed the connection.");
            return line[0] switch
            {
                '+' or ':' => line[1..],
                '-' => throw new InvalidOperationException(line[1..]),
                '$' when line == "$-1" => null,
                '$' => await reader.ReadLineAsync(deadline.Token),
                _ => throw new InvalidOperationException($"Unexpected reply '{line}'."),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No reply from 127.0.0.1:{port} within {timeout.TotalMilliseconds} ms.");
        }
    }

    /// <summary>Whether the node answers PING with PONG within <paramref name="timeout"/>.</summary>
    public static async Task<string?> PingAsync(int port, TimeSpan timeout, CancellationToken cancellationToken) =>
        await CommandAsync(port, timeout, cancellationToken, "PING");

    private static byte[] Encode(string[] command)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"*{command.Length}\r\n");
        foreach (var part in command)
        {
            text.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
