using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace RedLockNet.TestRig;

/// <summary>A one-shot RESP <c>PING</c> over a fresh loopback connection, used for readiness checks.</summary>
internal static class RespProbe
{
    private static readonly byte[] Ping = Encoding.ASCII.GetBytes("*1\r\n$4\r\nPING\r\n");

    /// <summary>
    /// Whether 127.0.0.1:<paramref name="port"/> answers <c>+PONG</c> within <paramref name="timeout"/>; on a secured
    /// node over TLS (trusting only its cluster's CA) and after <c>AUTH</c> as the rig's admin user.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<bool> PingAsync(int port, TimeSpan timeout, CancellationToken cancellationToken, SecurityFiles? security = null)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(timeout);
        try
        {
            using var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
            await client.ConnectAsync(IPAddress.Loopback, port, attempt.Token);
            await using Stream stream = security is { Security.Tls: true } ? new SslStream(client.GetStream()) : client.GetStream();
            if (stream is SslStream tls)
            {
                await tls.AuthenticateAsClientAsync(security!.ClientTls(), attempt.Token);
            }

            var expected = "+PONG\r\n"u8.ToArray();
            if (security?.Credentials is { AdminUser: { } user, AdminPassword: { } password })
            {
                await stream.WriteAsync(Command("AUTH", user, password), attempt.Token);
                expected = [.. "+OK\r\n"u8, .. expected];
            }

            await stream.WriteAsync(Ping, attempt.Token);
            var buffer = new byte[64];
            var length = 0;
            var lines = expected.Count(b => b == (byte)'\n');
            while (length < buffer.Length && buffer.AsSpan(0, length).Count((byte)'\n') < lines)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(length), attempt.Token);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            return buffer.AsSpan(0, length).SequenceEqual(expected);
        }
        catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    private static byte[] Command(params string[] parts)
    {
        var text = new StringBuilder().Append('*').Append(parts.Length).Append("\r\n");
        foreach (var part in parts)
        {
            text.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
