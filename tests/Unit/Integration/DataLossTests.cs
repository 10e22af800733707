using System.Reflection;
using RedLockNet.TestRig;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>
/// A node that lost its data is caught by its data epoch (identity.lua, checked first by every script that can grant),
/// not only by the connection events a restart usually raises: with those events hidden from the library, or with no
/// event at all (FLUSHALL), the next grant attempt finds another epoch and the node is quarantined.
/// </summary>
public sealed class DataLossTests
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_restart_whose_connection_events_the_library_never_sees_is_caught_by_the_epoch()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        var raw = new List<ConnectionMultiplexer>();
        var failuresHidden = 0;
        foreach (var endpoint in cluster.Endpoints)
        {
            var multiplexer = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
            {
                EndPoints = { endpoint },
                AbortOnConnectFail = false,
                ConnectTimeout = 2000,
                SyncTimeout = 1000,
                AsyncTimeout = 1000,
                HeartbeatInterval = TimeSpan.FromMilliseconds(100),
                BacklogPolicy = BacklogPolicy.FailFast,
            });
            multiplexer.ConnectionFailed += (_, _) => Interlocked.Increment(ref failuresHidden);
            raw.Add(multiplexer);
        }

        try
        {
            await using var locks = await RedLockFactory.CreateAsync(raw.Select(EventHidingMultiplexer.Wrap), Options(), Clusters.Bound());
            await using (await locks.AcquireAsync(Clusters.UniqueResource("before"), Clusters.Bound()))
            {
            }

            await cluster.Nodes[0].KillAsync();
            await cluster.Nodes[0].RestartAsync(Clusters.Bound());
            await ReconnectedAsync(raw[0]);
            Assert.True(Volatile.Read(ref failuresHidden) > 0, "the restart raised ConnectionFailed, which the library never heard of");

            // the grant after the restart: node 0 answers with another epoch (or, its script cache empty, NOSCRIPT) and
            // refuses; nodes 1 and 2 grant
            await AssertQuarantinedAsync(locks, cluster, node: 0);
        }
        finally
        {
            foreach (var multiplexer in raw)
            {
                await multiplexer.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_node_that_loses_its_data_without_restarting_is_quarantined_on_the_next_grant()
    {
        var logs = new TestLoggerFactory();
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Options(cluster.Endpoints, logs), Clusters.Bound());
        await using var held = await locks.AcquireAsync(Clusters.UniqueResource("held"), Clusters.Bound());

        // no restart, no dropped connection, no event: the node just forgets everything
        await using (var admin = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { cluster.Endpoints[0] }, AllowAdmin = true, ConnectTimeout = 2000 }))
        {
            await admin.GetServer(cluster.Endpoints[0]).FlushAllDatabasesAsync();
        }

        await AssertQuarantinedAsync(locks, cluster, node: 0);
        Assert.Contains(logs.Lines, l => l.Contains("lost its data without restarting", StringComparison.Ordinal));
    }

    /// <summary>
    /// A node that lost its script cache (a new process that kept or restored its epoch, or SCRIPT FLUSH) answers the
    /// round's EVALSHA with NOSCRIPT. That makes it suspect before the round resends the text, so its next grant waits
    /// for the node's identity to be read again: after an acquisition or two the identity script is back in the node's
    /// cache, which only that check puts there (FLUSH emptied it; nothing else runs identity.lua).
    /// </summary>
    [Fact]
    public async Task A_node_that_lost_its_scripts_is_checked_again_before_the_resent_grant()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Options(cluster.Endpoints), Clusters.Bound());
        await using var admin = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { cluster.Endpoints[0] }, AllowAdmin = true, ConnectTimeout = 2000 });
        var node = admin.GetDatabase();
        async Task<bool> IdentityCachedAsync() => (bool)(await node.ExecuteAsync("SCRIPT", "EXISTS", Convert.ToHexStringLower(Nodes.Scripts.IdentityCall.Script.Sha1)))[0];

        Assert.True(await IdentityCachedAsync(), "preloaded at connect");
        await node.ExecuteAsync("SCRIPT", "FLUSH");
        Assert.False(await IdentityCachedAsync());

        // the first grant after the flush meets NOSCRIPT on node 0, which makes it suspect: the resent text, or the next
        // grant when the majority decided the round first, waits for node 0's identity to be read again
        for (var attempt = 0; attempt < 5 && !await IdentityCachedAsync(); attempt++)
        {
            await using (await locks.AcquireAsync(Clusters.UniqueResource("flushed"), new LockRequest { AutoRenew = false }, Clusters.Bound()))
            {
            }
        }

        Assert.True(await IdentityCachedAsync(), "node 0 was read again before it granted again");
    }

    [Fact]
    public async Task With_restart_quarantine_off_the_scripts_carry_no_epoch_check()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints, o => o.RestartQuarantine = RestartQuarantineMode.Off), Clusters.Bound());
        await using (var admin = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { cluster.Endpoints[0] }, AllowAdmin = true, ConnectTimeout = 2000 }))
        {
            await admin.GetServer(cluster.Endpoints[0]).FlushAllDatabasesAsync();
        }

        // node 0 lost its epoch but still votes: quarantine off means a node that lost its data votes at once
        await using (await locks.AcquireAsync(Clusters.UniqueResource("off"), Clusters.Bound()))
        {
        }

        var status = await locks.ProbeNodesAsync(cancellationToken: Clusters.Bound());
        Assert.All(status, s => Assert.False(s.IsQuarantined));
    }

    private static RedLockOptions Options(IEnumerable<string>? endpoints = null, TestLoggerFactory? logs = null) =>
        Clusters.Options(endpoints ?? [], o =>
        {
            o.RestartQuarantine = RestartQuarantineMode.WhenNotPersistent;
            o.RestartQuarantinePeriod = Period;
            o.LoggerFactory = logs;
        });

    /// <summary>
    /// Grant attempts (each on a new resource, still won by the other two nodes) until the probe shows node
    /// <paramref name="node"/> out of the vote, bounded (on a loaded machine one attempt may time out before it reaches
    /// the node); then, without another node, there is no majority.
    /// </summary>
    private static async Task AssertQuarantinedAsync(RedLockFactory locks, TestNodeCluster cluster, int node)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        IReadOnlyList<NodeStatus> status;
        do
        {
            await using (await locks.AcquireAsync(Clusters.UniqueResource("after"), Clusters.Bound()))
            {
            }

            status = await locks.ProbeNodesAsync(cancellationToken: Clusters.Bound());
        }
        while (!status[node].IsQuarantined && DateTime.UtcNow < deadline);

        Assert.True(status[node].IsQuarantined, $"node {node} is quarantined: {status[node]}");
        Assert.InRange(status[node].QuarantineRemaining, TimeSpan.FromSeconds(1), Period);

        var other = (node + 1) % 3;
        await cluster.Nodes[other].PauseAsync();
        try
        {
            var refusal = await Assert.ThrowsAsync<QuorumUnavailableException>(() => locks.TryAcquireAsync(Clusters.UniqueResource("one-left"), Clusters.Bound()));
            Assert.Contains(refusal.Failures, f => f.Kind == NodeFailureKind.Quarantined && f.Node == cluster.Nodes[node].Endpoint);
        }
        finally
        {
            await cluster.Nodes[other].ResumeAsync();
        }
    }

    private static async Task ReconnectedAsync(ConnectionMultiplexer multiplexer)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                await multiplexer.GetDatabase().PingAsync();
                return;
            }
            catch (RedisException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }
    }
}

/// <summary>
/// A multiplexer that forwards everything but never lets a subscriber hear ConnectionFailed or ConnectionRestored:
/// what a client sees when a proxy keeps its TCP connection up while the server behind it is replaced.
/// </summary>
public class EventHidingMultiplexer : DispatchProxy
{
    private IConnectionMultiplexer? _inner;

    public static IConnectionMultiplexer Wrap(IConnectionMultiplexer inner)
    {
        var proxy = Create<IConnectionMultiplexer, EventHidingMultiplexer>();
        ((EventHidingMultiplexer)(object)proxy)._inner = inner;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name is "add_ConnectionFailed" or "add_ConnectionRestored" or "remove_ConnectionFailed" or "remove_ConnectionRestored")
        {
            return null;
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
    }
}
