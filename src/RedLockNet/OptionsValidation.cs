using System.Globalization;
using System.Net;
using System.Net.Sockets;
using RedLockNet.Engine;
using RedLockNet.Nodes;
using StackExchange.Redis;

namespace RedLockNet;

/// <summary>Checks options and per-call input before anything is sent; each error names the parameter and the rule.</summary>
internal static class OptionsValidation
{
    public static void Validate(RedLockOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.KeyPrefix is null)
        {
            throw new ArgumentNullException("options.KeyPrefix", "KeyPrefix must not be null (use \"\" for no prefix).");
        }

        if (double.IsNaN(options.DriftFactor) || options.DriftFactor < 0 || options.DriftFactor >= 0.5)
        {
            throw new ArgumentOutOfRangeException("options.DriftFactor", options.DriftFactor, "DriftFactor must be at least 0 and below 0.5.");
        }

        RequireNonNegative(options.DriftConstant, "options.DriftConstant");
        if (options.MinValidity is { } minValidity)
        {
            RequireNonNegative(minValidity, "options.MinValidity");
        }

        RequirePositive(options.NodeTimeout, "options.NodeTimeout");
        RequirePositive(options.ConnectTimeout, "options.ConnectTimeout");
        RequirePositive(options.MinRetryDelay, "options.MinRetryDelay");
        if (options.MaxRetryDelay < options.MinRetryDelay)
        {
            throw new ArgumentOutOfRangeException("options.MaxRetryDelay", options.MaxRetryDelay, "MaxRetryDelay must not be shorter than MinRetryDelay.");
        }

        if (options.LostTokenSafetyMargin is { } margin)
        {
            RequireNonNegative(margin, "options.LostTokenSafetyMargin");
        }

        if (options.MaxHoldTime is { } cap)
        {
            ValidateHoldTime(cap, "options.MaxHoldTime");
        }

        if (options.FenceRetention < TimeSpan.FromSeconds(1) || options.FenceRetention.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException("options.FenceRetention", options.FenceRetention, "FenceRetention must be between 1 second and about 24.8 days.");
        }

        if (!Enum.IsDefined(options.RestartQuarantine))
        {
            throw new ArgumentOutOfRangeException("options.RestartQuarantine", options.RestartQuarantine, "RestartQuarantine must be WhenNotPersistent, Always or Off.");
        }

        if (options.RestartQuarantinePeriod is { } period && (period <= TimeSpan.Zero || period > TimeSpan.FromDays(1)))
        {
            throw new ArgumentOutOfRangeException("options.RestartQuarantinePeriod", period, "RestartQuarantinePeriod must be positive and at most a day.");
        }

        if (options.RenewalBatchSize is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException("options.RenewalBatchSize", options.RenewalBatchSize, "RenewalBatchSize must be between 1 and 10000.");
        }

        ValidateWait(options.WaitTimeout, "options.WaitTimeout");
        ValidateExpiry(options.DefaultExpiry, options, "options.DefaultExpiry");
        if (options.TimeProvider is null)
        {
            throw new ArgumentNullException("options.TimeProvider", "TimeProvider must not be null.");
        }
    }

    public static void ValidateResource(string resource, string paramName = "resource")
    {
        ArgumentNullException.ThrowIfNull(resource, paramName);
        if (string.IsNullOrWhiteSpace(resource))
        {
            throw new ArgumentException("The resource name must not be empty or white space.", paramName);
        }

        if (resource.Length > LockKeys.MaxResourceLength)
        {
            throw new ArgumentException(
                $"The resource name must be at most {LockKeys.MaxResourceLength} characters (it has {resource.Length}).", paramName);
        }
    }

    public static TimeSpan ValidateExpiry(TimeSpan expiry, RedLockOptions options, string paramName)
    {
        if (expiry < LockValidity.ShortestExpiry)
        {
            throw new ArgumentOutOfRangeException(paramName, expiry,
                $"The expiry must be at least {LockValidity.ShortestExpiry.TotalMilliseconds:0} ms.");
        }

        if (expiry.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, expiry, "The expiry must be at most int.MaxValue milliseconds (about 24.8 days).");
        }

        var validity = LockValidity.For(expiry, options);
        if (validity.Budget <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, expiry,
                $"The expiry must be larger than the drift allowance ({validity.Drift.TotalMilliseconds:0.###} ms) plus the minimum validity ({validity.Minimum.TotalMilliseconds:0.###} ms).");
        }

        if (validity.SafetyMargin > validity.Minimum)
        {
            throw new ArgumentOutOfRangeException(paramName, expiry,
                $"The lost token's safety margin ({validity.SafetyMargin.TotalMilliseconds:0.###} ms) must not exceed the minimum validity ({validity.Minimum.TotalMilliseconds:0.###} ms) for this expiry.");
        }

        return expiry;
    }

    public static TimeSpan ValidateHoldTime(TimeSpan cap, string paramName)
    {
        if (cap < LockValidity.ShortestExpiry)
        {
            throw new ArgumentOutOfRangeException(paramName, cap, $"The hold-time cap must be at least {LockValidity.ShortestExpiry.TotalMilliseconds:0} ms.");
        }

        return cap;
    }

    public static TimeSpan ValidateWait(TimeSpan wait, string paramName)
    {
        if (wait < TimeSpan.Zero && wait != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(paramName, wait, "The wait timeout must be zero or positive, or Timeout.InfiniteTimeSpan.");
        }

        return wait;
    }

    public static IReadOnlyList<ConfigurationOptions> ParseNodes(RedLockOptions options)
    {
        if (options.Nodes.Count == 0)
        {
            throw new ArgumentException("At least one node is required; Redlock wants 3 or 5 independent Redis servers.", "options.Nodes");
        }

        var configs = new ConfigurationOptions[options.Nodes.Count];
        for (var i = 0; i < configs.Length; i++)
        {
            var node = options.Nodes[i];
            if (string.IsNullOrWhiteSpace(node))
            {
                throw new ArgumentException("Node entries must not be empty.", $"options.Nodes[{i}]");
            }

            configs[i] = NodeConnector.ParseNode(node, i, options);
        }

        return configs;
    }

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

    private static void RequirePositive(TimeSpan value, string paramName)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, value, "Must be positive.");
        }
    }

    private static void RequireNonNegative(TimeSpan value, string paramName)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, value, "Must not be negative.");
        }
    }
}
