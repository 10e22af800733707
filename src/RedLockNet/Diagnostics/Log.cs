using Microsoft.Extensions.Logging;

namespace RedLockNet.Diagnostics;

/// <summary>Every log line RedLockNet writes. Lock ids appear as an 8-digit prefix only; credentials never.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Acquired '{Resource}' ({LockIdPrefix}…) in {ElapsedMs:0.###} ms; valid for {ValidityMs:0} ms")]
    public static partial void Acquired(ILogger logger, string resource, string lockIdPrefix, double elapsedMs, double validityMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Attempt at '{Resource}' ended {Outcome} after {ElapsedMs:0.###} ms (granted {Granted}, denied {Denied}, failed {Failed})")]
    public static partial void AttemptFailed(ILogger logger, string resource, AcquireOutcome outcome, double elapsedMs, int granted, int denied, int failed);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Released '{Resource}' ({LockIdPrefix}…)")]
    public static partial void Released(ILogger logger, string resource, string lockIdPrefix);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Release of '{Resource}' ({LockIdPrefix}…) confirmed by {Confirmed} of {NodeCount} nodes; the rest expire with their time to live. Failed: {Failures}")]
    public static partial void ReleaseIncomplete(ILogger logger, string resource, string lockIdPrefix, int confirmed, int nodeCount, string failures);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Releasing '{Resource}' ({LockIdPrefix}…) on dispose failed; the lock expires with its time to live")]
    public static partial void DisposeReleaseFailed(ILogger logger, string resource, string lockIdPrefix, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Node {Node} granted an abandoned attempt ({LockIdPrefix}…) late; releasing it there")]
    public static partial void LateGrantReleased(ILogger logger, string node, string lockIdPrefix);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Lost lock '{Resource}' ({LockIdPrefix}…): {Reason}")]
    public static partial void LockLost(ILogger logger, string resource, string lockIdPrefix, LockLostReason reason);

    [LoggerMessage(EventId = 8, Level = LogLevel.Debug, Message = "Renewal of '{Resource}' ({LockIdPrefix}…) undecided (extended {Extended}, refused {Refused}, failed {Failed}); retrying before the deadline")]
    public static partial void RenewalUncertain(ILogger logger, string resource, string lockIdPrefix, int extended, int refused, int failed);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Lock '{Resource}' ({LockIdPrefix}…) was dropped without being released; renewal stopped and it expires with its time to live")]
    public static partial void LeaseAbandoned(ILogger logger, string resource, string lockIdPrefix);

    [LoggerMessage(EventId = 14, Level = LogLevel.Error, Message = "A renewal batch failed unexpectedly; its leases are retried")]
    public static partial void RenewalFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 15, Level = LogLevel.Error, Message = "A handler of the Lost event of '{Resource}' threw")]
    public static partial void LostHandlerFailed(ILogger logger, string resource, Exception exception);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "RedLockNet is configured with {NodeCount} nodes; an even count tolerates no more failures than the odd count below it. Use 3 or 5.")]
    public static partial void EvenNodeCount(ILogger logger, int nodeCount);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Node {Node} did not answer while connecting ({Reason}); it was not checked for being the same server as another node")]
    public static partial void NodeUnreachableAtConnect(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Node {Node} is Microsoft Garnet {Version}: its Lua scripts are atomic only when it runs with --lua-transaction-mode true (EnableLua and LuaTransactionMode when embedded). Without that, two clients can both be granted one lock.")]
    public static partial void GarnetNode(ILogger logger, string node, string version);

    [LoggerMessage(EventId = 19, Level = LogLevel.Warning, Message = "Node {Node} is a master with {Replicas} connected replica(s): replication is asynchronous, so if it fails over (Sentinel, or a cluster failover) the promoted replica may lack locks it acknowledged, and a second holder can get in. Redlock wants independent masters without automatic failover (see README).")]
    public static partial void MasterWithReplicas(ILogger logger, string node, int replicas);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Cluster member {Node} has {Replicas} replica(s) across its shards: the cluster fails a shard over to its replica on its own, and replication is asynchronous, so the promoted replica may lack locks its master acknowledged (restart quarantine cannot see this: the replica kept the shard's epoch), and a second holder can get in. Redlock wants each member's shards without replicas (cluster-replicas 0); see README.")]
    public static partial void ClusterWithReplicas(ILogger logger, string node, int replicas);

    [LoggerMessage(EventId = 16, Level = LogLevel.Warning, Message = "Node {Node} runs without AOF: if it restarts it forgets the locks it granted and its fencing counters. Enable appendonly with appendfsync always, or keep a restarted node out for longer than the longest lock expiry (see README).")]
    public static partial void NoPersistence(ILogger logger, string node);

    [LoggerMessage(EventId = 17, Level = LogLevel.Warning, Message = "Node {Node} {Finding} {Since} s ago: it does not grant locks for the next {Remaining} ms, until every lock it may have granted before has expired")]
    public static partial void NodeQuarantined(ILogger logger, string node, string finding, long since, long remaining);

    [LoggerMessage(EventId = 18, Level = LogLevel.Information, Message = "Node {Node} answers again: {Finding}")]
    public static partial void NodeRechecked(ILogger logger, string node, string finding);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "RedLockNet connected to {NodeCount} nodes ({Nodes}); a lock needs {Majority}")]
    public static partial void Connected(ILogger logger, int nodeCount, string nodes, int majority);
}
