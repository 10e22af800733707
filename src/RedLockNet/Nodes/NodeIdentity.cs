namespace RedLockNet.Nodes;

/// <summary>What identifies a server process.</summary>
/// <param name="RunId">The server's random id for this run (changes on restart).</param>
/// <param name="Uptime">How long the server has been running.</param>
/// <param name="GarnetVersion">The Garnet version when the server is Microsoft Garnet, else null.</param>
/// <param name="Epoch">The node's data epoch (identity.lua), null when not read.</param>
/// <param name="EpochAge">How long ago, on the node's clock, that epoch began: how long its data has been continuous.</param>
internal sealed record NodeIdentity(string RunId, TimeSpan Uptime, string? GarnetVersion = null, string? Epoch = null, TimeSpan EpochAge = default)
{
    /// <summary>Reads what identity.lua answered; null for a reply of another shape or an INFO text without a run_id.</summary>
    public static NodeIdentity? FromReply(StackExchange.Redis.RedisResult reply) =>
        Scripts.IdentityReply.Read(reply) is { } read && Parse(read.Info) is { } identity
            ? identity with { Epoch = read.Epoch, EpochAge = read.EpochAge }
            : null;

    /// <summary>Random hex for a new epoch, should the node have none.</summary>
    public static string NewEpochSuffix() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

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

/// <summary>What INFO replication says about a node's role.</summary>
internal static class NodeReplication
{
    /// <summary>Whether the text says the node is a replica (<c>role:slave</c>, or <c>role:replica</c>).</summary>
    public static bool IsReplica(string replicationInfo) =>
        replicationInfo.Contains("role:slave", StringComparison.Ordinal) || replicationInfo.Contains("role:replica", StringComparison.Ordinal);

    /// <summary>How many replicas a master reports connected (<c>connected_slaves</c>), 0 when the text says none.</summary>
    public static int ConnectedReplicas(string replicationInfo)
    {
        foreach (var line in replicationInfo.Split('\n'))
        {
            if (line.StartsWith("connected_slaves:", StringComparison.Ordinal)
                && int.TryParse(line.AsSpan("connected_slaves:".Length).Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var count))
            {
                return count;
            }
        }

        return 0;
    }
}

/// <summary>What INFO persistence says about the append-only file.</summary>
internal static class NodePersistence
{
    /// <summary>True with <c>aof_enabled:1</c>, false with <c>aof_enabled:0</c>, null when the text says neither.</summary>
    public static bool? AofEnabled(string persistenceInfo) =>
        persistenceInfo.Contains("aof_enabled:1", StringComparison.Ordinal) ? true
        : persistenceInfo.Contains("aof_enabled:0", StringComparison.Ordinal) ? false
        : null;
}
