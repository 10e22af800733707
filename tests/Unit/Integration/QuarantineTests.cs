using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>
/// Restart quarantine on real servers (run without persistence here): the Redlock spec's scenario where a node that
/// granted a lock restarts empty and lets a second client win a majority.
/// </summary>
public sealed class QuarantineTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Without_quarantine_a_node_restarted_empty_lets_a_second_client_hold_the_lock_too()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var holderLocks = await ConnectAsync(cluster, RestartQuarantineMode.Off);
        await using var secondLocks = await ConnectAsync(cluster, RestartQuarantineMode.Off);
        var (holder, second, _) = await RunScenarioAsync(cluster, holderLocks, secondLocks);
        // the control: the checker below must see the violation that quarantine prevents
        Assert.NotNull(second);
        Assert.True(holder.RemainingValidity > TimeSpan.Zero && second.RemainingValidity > TimeSpan.Zero, "two holders at once");
    }

    [Fact]
    public async Task With_quarantine_the_restarted_node_does_not_vote_and_the_holder_stays_alone()
    {
        var logs = new TestLoggerFactory();
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var holderLocks = await ConnectAsync(cluster, RestartQuarantineMode.WhenNotPersistent);
        await using var secondLocks = await ConnectAsync(cluster, RestartQuarantineMode.WhenNotPersistent, logs);
        var (holder, second, refusal) = await RunScenarioAsync(cluster, holderLocks, secondLocks);
        Assert.Null(second);
        // both restarted nodes are new processes to the second client: it cannot form a majority without them
        Assert.NotNull(refusal);
        Assert.Contains(refusal.Failures, f => f.Kind == NodeFailureKind.Quarantined && f.Node == cluster.Nodes[1].Endpoint);
        Assert.True(holder.RemainingValidity > TimeSpan.Zero);
        Assert.Contains(logs.Lines, l => l.Contains("restarted", StringComparison.Ordinal) && l.Contains("does not grant locks", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_quarantined_node_is_named_in_the_error_and_votes_again_once_the_period_has_passed()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options(cluster.Endpoints, o => o.RestartQuarantinePeriod = TimeSpan.FromSeconds(12)), Clusters.Bound());
        await cluster.Nodes[0].KillAsync();
        await cluster.Nodes[1].KillAsync();
        await cluster.Nodes[0].RestartAsync(Clusters.Bound());
        await cluster.Nodes[1].RestartAsync(Clusters.Bound());

        // until the clients reconnect the nodes are unreachable; then they are quarantined for the rest of the 12 s
        // (long enough to outlast a slow Garnet restart and reconnect on a loaded machine)
        var resource = Clusters.UniqueResource("quarantined");
        QuorumUnavailableException? quarantined = null;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (quarantined is null && DateTime.UtcNow < until)
        {
            var ex = await Assert.ThrowsAsync<QuorumUnavailableException>(() => locks.TryAcquireAsync(resource, Clusters.Bound()));
            if (ex.Failures.Any(f => f.Kind == NodeFailureKind.Quarantined))
            {
                quarantined = ex;
            }
            else
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }

        Assert.NotNull(quarantined);
        Assert.Contains(quarantined.Failures, f => f.Kind == NodeFailureKind.Quarantined && (f.Node == cluster.Nodes[0].Endpoint || f.Node == cluster.Nodes[1].Endpoint));
        Assert.Contains("kept out of the vote", quarantined.Message, StringComparison.Ordinal);

        await using var handle = await locks.AcquireAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(30) }, Clusters.Bound());
        Assert.NotNull(handle);
    }

    private static Task<RedLockFactory> ConnectAsync(TestNodeCluster cluster, RestartQuarantineMode mode, TestLoggerFactory? logs = null) =>
        RedLockFactory.ConnectAsync(
            Clusters.Options(cluster.Endpoints, o =>
            {
                o.RestartQuarantine = mode;
                o.RestartQuarantinePeriod = Ttl + TimeSpan.FromSeconds(1);
                o.LoggerFactory = logs;
            }),
            Clusters.Bound());

    /// <summary>
    /// The holder takes the lock while node 2 is down, so its keys are on nodes 0 and 1. Node 2 comes back, then
    /// node 1 is killed and restarted empty: the holder's key now stands on node 0 only. A second client, running all
    /// along, then tries the lock.
    /// </summary>
    private static async Task<(ILockHandle Holder, ILockHandle? Second, QuorumUnavailableException? Refusal)> RunScenarioAsync(TestNodeCluster cluster, RedLockFactory holderLocks, RedLockFactory secondLocks)
    {
        var resource = Clusters.UniqueResource("restart-empty");

        await cluster.Nodes[2].KillAsync();
        var holder = await holderLocks.AcquireAsync(resource, new LockRequest { Expiry = Ttl, AutoRenew = false }, Clusters.Bound());
        await cluster.Nodes[2].RestartAsync(Clusters.Bound());
        await cluster.Nodes[1].KillAsync();
        await cluster.Nodes[1].RestartAsync(Clusters.Bound());

        // retry for a while: the second client needs to have reconnected to both restarted nodes to win
        try
        {
            var second = await secondLocks.TryAcquireAsync(resource, new LockRequest { Expiry = Ttl, WaitTimeout = TimeSpan.FromSeconds(5) }, Clusters.Bound());
            return (holder, second, null);
        }
        catch (QuorumUnavailableException ex)
        {
            return (holder, null, ex);
        }
    }
}
