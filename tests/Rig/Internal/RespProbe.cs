using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RedLockNet.TestRig;

/// <summary>A one-shot RESP <c>PING</c> over a fresh loopback connection, used for readiness checks.</summary>
internal static class RespProbe
{
    private static readonly byte[] Ping = Encoding.ASCII.GetBytes("*1\r\n$4\r\nPING\r\n");

    /// <summary>Whether 127.0.0.1:<paramref name="port"/> answers <c>+PONG</c> within <paramref name="timeout"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<bool> PingAsync(int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(timeout);
        try
        {
            using var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
            await client.ConnectAsync(IPAddress.Loopback, port, attempt.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Ping, attempt.Token);

            var buffer = new byte[64];
            var length = 0;
            while (length < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(length), attempt.Token);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (buffer.AsSpan(0, length).IndexOf("\r\n"u8) >= 0)
                {
                    break;
                }
            }

            return buffer.AsSpan(0, length).StartsWith("+PONG\r\n"u8);
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }
}
