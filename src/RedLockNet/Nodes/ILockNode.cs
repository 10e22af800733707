using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>
/// The one seam between the lock logic and node I/O: run this script on that node, get a reply or an error.
/// Production uses <see cref="RedisLockNode"/>; property tests use a simulated node set.
/// </summary>
internal interface ILockNode
{
    /// <summary>The node's endpoint (host:port) for errors and logs; never carries credentials.</summary>
    string Name { get; }

    /// <summary>
    /// Runs <paramref name="script"/>. Errors come back as a faulted task (RedisException and subclasses);
    /// the caller applies the per-node timeout.
    /// </summary>
    Task<RedisResult> RunAsync(LockScript script, RedisKey[] keys, RedisValue[] args);

}

/// <summary>What identifies a server process.</summary>
/// <param name="RunId">The server's random id for this run (changes on restart).</param>
/// <param name="Uptime">How long the server has been running.</param>
/// <param name="GarnetVersion">The Garnet version when the server is Microsoft Garnet, else null.</param>
internal sealed record NodeIdentity(string RunId, TimeSpan Uptime, string? GarnetVersion = null)
{
    /// <summary>Reads <c>run_id</c> and <c>uptime_in_seconds</c> from the text of INFO server; null without a run_id.</summary>
    public static NodeIdentity? Parse(string info)
    {
        string? runId = null;
        string? garnet = null;
        var uptime = TimeSpan.Zero;
        foreach (var line in info.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim();
            if (name == "run_id")
            {
                runId = value;
            }
            else if (name == "garnet_version")
            {
                garnet = value;
            }
            else if (name == "uptime_in_seconds" && long.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
            {
                uptime = TimeSpan.FromSeconds(seconds);
            }
        }

        return runId is { Length: > 0 } ? new NodeIdentity(runId, uptime, garnet) : null;
    }
}
