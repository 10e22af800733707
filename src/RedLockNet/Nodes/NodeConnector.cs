using System.Globalization;
using Microsoft.Extensions.Logging;
using RedLockNet.Diagnostics;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>Turns configuration strings into connected nodes with settings that keep a dead or paused node from stalling calls.</summary>
internal static class NodeConnector
{
    /// <summary>SE.Redis pings each connection this often, so a dead socket is noticed within a few hundred milliseconds.</summary>
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(100);

    /// <summary>The connection settings of every node of <paramref name="options"/>, which <see cref="RedLockOptions.Validate"/> has checked.</summary>
    public static IReadOnlyList<ConfigurationOptions> ParseNodes(RedLockOptions options)
    {
        var configs = new ConfigurationOptions[options.Nodes.Count];
        for (var i = 0; i < configs.Length; i++)
        {
            configs[i] = ParseNode(options.Nodes[i], i, options);
        }

        return configs;
    }

    public static ConfigurationOptions ParseNode(string node, int index, RedLockOptions options)
    {
        var config = RedLockOptions.ParseNode(node, index); // the entry's rules, as options validation applies them
        config.AbortOnConnectFail = false;           // start even while a minority is down; reconnect in the background
        config.BacklogPolicy = BacklogPolicy.FailFast; // a command to a disconnected node fails now instead of queueing
        config.HeartbeatInterval = Heartbeat;
        if (!Mentions(node, "connectTimeout"))
        {
            config.ConnectTimeout = ToMilliseconds(options.ConnectTimeout);
        }

        if (!Mentions(node, "asyncTimeout"))
        {
            // our own per-node timeout is shorter; this only frees SE.Redis's bookkeeping of abandoned calls
            config.AsyncTimeout = Math.Max(1000, ToMilliseconds(options.NodeTimeout) * 4);
        }

        config.ClientName ??= "redlocknet";
        options.ConfigureConnection?.Invoke(config); // what a connection string cannot say (a private CA, a client certificate)
        return config;
    }

    /// <summary>Connects to every node in parallel, checks they are distinct servers and starts watching them for restarts.</summary>
    public static async Task<NodeSet> ConnectAsync(IReadOnlyList<ConfigurationOptions> configs, QuarantinePolicy policy, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var connecting = configs.Select(config => ConnectionMultiplexer.ConnectAsync(config)).ToArray();
        try
        {
            await Task.WhenAll(connecting).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            foreach (var task in connecting)
            {
                if (task.IsCompletedSuccessfully)
                {
                    await task.Result.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    _ = task.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
                }
            }

            throw;
        }

        return await OpenAsync([.. connecting.Select(task => new RedisLockNode(task.Result, owned: true))], policy, timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Uses the caller's multiplexers (never disposed here), checks they are distinct servers and starts watching them.</summary>
    public static Task<NodeSet> WrapAsync(IReadOnlyList<IConnectionMultiplexer> multiplexers, QuarantinePolicy policy, TimeSpan timeout, CancellationToken cancellationToken) =>
        OpenAsync([.. multiplexers.Select(m => new RedisLockNode(m, owned: false))], policy, timeout, cancellationToken);

    private static async Task<NodeSet> OpenAsync(RedisLockNode[] nodes, QuarantinePolicy policy, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var identities = await ReadIdentitiesAsync(nodes, policy.EpochKey, timeout, policy.Time, policy.Logger, cancellationToken).ConfigureAwait(false);
            var shards = await Task.WhenAll(nodes.Select(node => node.IsCluster
                ? node.WatchShardsAsync(policy, timeout, cancellationToken)
                : Task.FromResult<IReadOnlyList<(string Shard, NodeIdentity? Identity)>>([]))).ConfigureAwait(false);
            EnsureIndependent(nodes, identities, shards);
            foreach (var cluster in nodes.Where(node => node.IsCluster))
            {
                if (cluster.ClusterReplicas() is > 0 and var replicas)
                {
                    Log.ClusterWithReplicas(policy.Logger, cluster.Name, replicas);
                }
            }
            var preloads = nodes.Select(node => node.PreloadScriptsAsync()).ToArray();
            try
            {
                await NodeCalls.Observed(Task.WhenAll(preloads)).WaitAsync(timeout, policy.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // a slow node loads them when it can (or falls back to EVAL on first use)
            }

            for (var i = 0; i < nodes.Length; i++)
            {
                if (!nodes[i].IsCluster)
                {
                    nodes[i].WatchRestarts(policy, identities[i]);
                }
            }
        }
        catch
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        return new NodeSet(nodes, nodes);
    }

    /// <summary>Reads every node's identity in parallel; nodes that do not answer now are logged and get null.</summary>
    private static async Task<NodeIdentity?[]> ReadIdentitiesAsync(IReadOnlyList<ILockNode> nodes, RedisKey epochKey, TimeSpan timeout, TimeProvider time, ILogger logger, CancellationToken cancellationToken) =>
        await Task.WhenAll(nodes.Select(node => ReadIdentityAsync(node, epochKey, timeout, time, logger))).WaitAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Refuses node sets whose entries reach the same server (same run_id): Redlock's safety rests on independent nodes.
    /// Compared are each node's identity and every shard of the cluster members, so a cluster named twice, or a server
    /// that is also a shard of a cluster member, is refused too. Servers that did not answer are skipped.
    /// </summary>
    private static void EnsureIndependent(RedisLockNode[] nodes, NodeIdentity?[] identities, IReadOnlyList<(string Shard, NodeIdentity? Identity)>[] shards)
    {
        var seen = new Dictionary<string, (int Member, string Server)>(StringComparer.Ordinal);
        for (var i = 0; i < nodes.Length; i++)
        {
            IEnumerable<(string Server, NodeIdentity? Identity)> servers = [(nodes[i].Name, identities[i]), .. shards[i].Select(shard => ($"shard {shard.Shard} of {nodes[i].Name}", shard.Identity))];
            foreach (var (server, identity) in servers)
            {
                if (identity is null)
                {
                    continue;
                }

                if (seen.TryGetValue(identity.RunId, out var other) && other.Member != i)
                {
                    throw new RedLockConfigurationException(
                        $"Nodes {other.Server} and {server} reach the same server (run_id {identity.RunId[..Math.Min(8, identity.RunId.Length)]}…); Redlock needs independent servers.");
                }

                seen[identity.RunId] = (i, server);
            }
        }
    }

    private static async Task<NodeIdentity?> ReadIdentityAsync(ILockNode node, RedisKey epochKey, TimeSpan timeout, TimeProvider time, ILogger logger)
    {
        try
        {
            if (node is not RedisLockNode { IsCluster: true })
            {
                // (a cluster's replicas are counted from its configuration, apart: a keyless INFO reaches one shard)
                await CheckRoleAsync(node, timeout, time, logger).ConfigureAwait(false);
            }

            // a read that outlives the timeout still fails later (the client's own timeout): observed, so it raises nothing then
            var reply = await NodeCalls.Observed(NodeCalls.RunAloneAsync(node, new IdentityCall(epochKey, NodeIdentity.NewEpochSuffix()).ToCall())).WaitAsync(timeout, time).ConfigureAwait(false);
            var identity = NodeIdentity.FromReply(reply);
            if (identity is null)
            {
                Log.NodeUnreachableAtConnect(logger, node.Name, "its identity read has no run_id or epoch");
            }
            else if (identity.GarnetVersion is { } garnet)
            {
                Log.GarnetNode(logger, node.Name, garnet);
            }
            else
            {
                var persistence = await NodeCalls.Observed(NodeCalls.RunAloneAsync(node, InfoCall.Persistence.ToCall())).WaitAsync(timeout, time).ConfigureAwait(false);
                if (NodePersistence.AofEnabled(persistence.ToString()) == false)
                {
                    Log.NoPersistence(logger, node.Name);
                }
            }

            return identity;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.NodeUnreachableAtConnect(logger, node.Name, ex.GetType().Name);
            return null;
        }
    }

    /// <summary>
    /// Refuses a replica (it cannot grant, and a lock written to its master may not have reached it), and warns about a
    /// master with replicas (a failover can promote one that lacks locks the master acknowledged).
    /// </summary>
    private static async Task CheckRoleAsync(ILockNode node, TimeSpan timeout, TimeProvider time, ILogger logger)
    {
        var replication = (string?)await NodeCalls.Observed(NodeCalls.RunAloneAsync(node, InfoCall.Replication.ToCall())).WaitAsync(timeout, time).ConfigureAwait(false) ?? string.Empty;
        if (NodeReplication.IsReplica(replication))
        {
            throw new RedLockConfigurationException(
                $"Node {node.Name} is a replica: Redlock needs independent masters (a replica cannot grant, and lags its master). Name masters only, each without automatic failover (see README).");
        }

        if (NodeReplication.ConnectedReplicas(replication) is > 0 and var replicas)
        {
            Log.MasterWithReplicas(logger, node.Name, replicas);
        }
    }

    private static bool Mentions(string node, string option) =>
        node.Contains(option + "=", StringComparison.OrdinalIgnoreCase);

    private static int ToMilliseconds(TimeSpan value) =>
        (int)Math.Clamp(Math.Ceiling(value.TotalMilliseconds), 1, int.MaxValue);
}
