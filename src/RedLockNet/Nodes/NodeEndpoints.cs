using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace RedLockNet.Nodes;

/// <summary>Refuses node lists whose entries reach one endpoint, before anything connects.</summary>
internal static class NodeEndpoints
{
    /// <summary>Refuses two entries that name the same endpoint, also after resolving host names (localhost and 127.0.0.1 are one).</summary>
    public static async Task EnsureDistinctEndpointsAsync(IReadOnlyList<EndPoint> endpoints, string paramName, CancellationToken cancellationToken)
    {
        var owners = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < endpoints.Count; i++)
        {
            foreach (var name in await NamesOfAsync(endpoints[i], cancellationToken).ConfigureAwait(false))
            {
                if (owners.TryGetValue(name, out var other) && other != i)
                {
                    throw new ArgumentException(
                        $"Entries {other} and {i} both reach {name}; every node must be a different, independent server.", paramName);
                }

                owners[name] = i;
            }
        }
    }

    private static async Task<IReadOnlyCollection<string>> NamesOfAsync(EndPoint endpoint, CancellationToken cancellationToken)
    {
        switch (endpoint)
        {
            case IPEndPoint ip:
                return [Key(ip.Address, ip.Port)];
            case DnsEndPoint dns when IPAddress.TryParse(dns.Host, out var address):
                return [Key(address, dns.Port)];
            case DnsEndPoint dns:
                var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { $"{dns.Host}:{dns.Port}" };
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(TimeSpan.FromSeconds(2));
                    foreach (var address in await Dns.GetHostAddressesAsync(dns.Host, timeout.Token).ConfigureAwait(false))
                    {
                        names.Add(Key(address, dns.Port));
                    }
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    // unresolvable now: compare by name only; the run_id check still applies once it answers
                }

                return names;
            default:
                return [endpoint.ToString() ?? string.Empty];
        }
    }

    private static string Key(IPAddress address, int port)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return string.Create(CultureInfo.InvariantCulture, $"{address}:{port}");
    }
}
