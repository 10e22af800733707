using System.Diagnostics;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>Node faults on real server processes; each test has its own cluster.</summary>
public sealed class NodeFaultTests
{
    [Theory]
    [InlineData(3, 1)]
    [InlineData(5, 2)]
    public async Task A_minority_of_dead_nodes_does_not_stop_acquisition(int count, int dead)
    {
        await using var cluster = await TestNodeCluster.StartAsync(count, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await using var probe = await NodeProbe.ConnectAsync(cluster.Endpoints);
        for (var i = 0; i < dead; i++)
        {
            await cluster.Nodes[i].KillAsync();
        }

        var resource = Clusters.UniqueResource("minority");
        var handle = await locks.AcquireAsync(resource, Clusters.Bound());
        await probe.EventuallyAsync(resource, v => v == handle.LockId || v == NodeProbe.Down);
        Assert.All(await ValuesOnLiveNodesAsync(probe, resource, dead), v => Assert.Equal(handle.LockId, v));

        await handle.ReleaseAsync(Clusters.Bound()); // a majority confirms: no exception
        Assert.All(await ValuesOnLiveNodesAsync(probe, resource, dead), Assert.Null);
    }

    [Theory]
    [InlineData(3, 2)]
    [InlineData(5, 3)]
    public async Task A_majority_of_dead_nodes_gives_QuorumUnavailableException_within_the_wait(int count, int dead)
    {
        await using var cluster = await TestNodeCluster.StartAsync(count, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        for (var i = 0; i < dead; i++)
        {
            await cluster.Nodes[i].KillAsync();
        }

        var resource = Clusters.UniqueResource("majority");
        var watch = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<QuorumUnavailableException>(() =>
            locks.AcquireAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(1) }, Clusters.Bound()));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}"); // bounded, not a speed claim

        Assert.Equal(count, ex.NodeCount);
        Assert.Equal((count / 2) + 1, ex.Required);
        Assert.Equal(dead, ex.Failures.Count);
        foreach (var node in cluster.Nodes.Take(dead))
        {
            Assert.Contains(ex.Failures, f => f.Node == node.Endpoint);
            Assert.Contains(node.Endpoint, ex.Message);
        }

        // a message a person can read: a headline and one short line per failed node, without the client's connection
        // dump (IOCP, WORKER, POOL ...), which stays in the inner exception for those who want it
        TestContext.Current.TestOutputHelper?.WriteLine(ex.Message);
        var lines = ex.Message.Split(Environment.NewLine);
        Assert.Equal(1 + dead, lines.Length);
        Assert.All(lines, line => Assert.True(line.Length <= 240, $"a short line: {line}"));
        Assert.DoesNotContain("IOCP", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("WORKER", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.InnerException);
        Assert.All(ex.Failures, f => Assert.NotNull(f.Error));
        Assert.Contains(ex.Failures, f => f.Error!.Message.Length > f.Detail.Length);

        // TryAcquire does not mistake it for contention either
        await Assert.ThrowsAsync<QuorumUnavailableException>(() => locks.TryAcquireAsync(resource, Clusters.Bound()));

        // nor do callers that waited behind the first of this factory's line and never tried the nodes themselves
        // (they were told LockTimeoutException, "held by others", though nobody held it)
        var line = Enumerable.Range(0, 3).Select(_ => Assert.ThrowsAsync<QuorumUnavailableException>(() =>
            locks.AcquireAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(1) }, Clusters.Bound()))).ToList();
        var behind = await Task.WhenAll(line);
        Assert.All(behind, e => Assert.Equal(dead, e.Failures.Count));
    }

    [Fact]
    public async Task A_paused_node_costs_a_bounded_wait_and_never_a_hang()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await cluster.Nodes[2].PauseAsync();

        var resource = Clusters.UniqueResource("paused");
        var watch = Stopwatch.StartNew();
        var handle = await locks.AcquireAsync(resource, Clusters.Bound(20));
        await handle.ReleaseAsync(Clusters.Bound(20));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");

        await cluster.Nodes[1].PauseAsync(); // now a majority is frozen
        watch.Restart();
        var ex = await Assert.ThrowsAsync<QuorumUnavailableException>(() =>
            locks.AcquireAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromMilliseconds(500) }, Clusters.Bound(20)));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.Contains(ex.Failures, f => f.Node == cluster.Nodes[1].Endpoint && f.Kind == NodeFailureKind.Timeout);
        Assert.Contains(ex.Failures, f => f.Node == cluster.Nodes[2].Endpoint && f.Kind == NodeFailureKind.Timeout);

        await cluster.Nodes[1].ResumeAsync();
        await cluster.Nodes[2].ResumeAsync();
    }

    [Fact]
    public async Task A_restarted_node_is_used_again_without_reconnecting_by_hand()
    {
        // quarantine off: this is about reconnection; QuarantineTests cover keeping restarted nodes out
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options(cluster.Endpoints, o => o.RestartQuarantine = RestartQuarantineMode.Off), Clusters.Bound());
        await using var probe = await NodeProbe.ConnectAsync(cluster.Endpoints);
        await cluster.Nodes[0].KillAsync();
        await cluster.Nodes[1].KillAsync();
        await Assert.ThrowsAsync<QuorumUnavailableException>(() => locks.TryAcquireAsync("restart", Clusters.Bound()));

        await cluster.Nodes[0].RestartAsync(Clusters.Bound());
        await cluster.Nodes[1].RestartAsync(Clusters.Bound());
        await using var handle = await locks.AcquireAsync("restart", new LockRequest { WaitTimeout = TimeSpan.FromSeconds(15) }, Clusters.Bound());
        Assert.NotNull(handle);
    }

    [Fact]
    public async Task Cancelling_while_nodes_are_frozen_leaves_no_key_behind_once_they_resume()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options(cluster.Endpoints, o => o.NodeTimeout = TimeSpan.FromSeconds(5)), Clusters.Bound());
        await using var probe = await NodeProbe.ConnectAsync(cluster.Endpoints);
        await cluster.Nodes[0].PauseAsync();
        await cluster.Nodes[1].PauseAsync();

        var resource = Clusters.UniqueResource("cancel");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            locks.AcquireAsync(resource, new LockRequest { WaitTimeout = Timeout.InfiniteTimeSpan }, cancel.Token));

        // the frozen nodes run the queued acquire when they wake; the release that follows must undo it
        await cluster.Nodes[0].ResumeAsync();
        await cluster.Nodes[1].ResumeAsync();
        var deadline = Stopwatch.StartNew();
        string?[] values;
        do
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            values = await probe.ValuesAsync(resource);
        }
        while (values.Any(v => v is not null) && deadline.Elapsed < TimeSpan.FromSeconds(10));

        Assert.All(values, Assert.Null);
    }

    [Fact]
    public async Task Cancelling_a_wait_on_a_contended_lock_leaves_only_the_holders_keys()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await using var probe = await NodeProbe.ConnectAsync(cluster.Endpoints);
        var resource = Clusters.UniqueResource("cancel-wait");
        var holder = await locks.AcquireAsync(resource, Clusters.Bound());

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(250));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            locks.AcquireAsync(resource, new LockRequest { WaitTimeout = Timeout.InfiniteTimeSpan }, cancel.Token));

        await probe.EventuallyAsync(resource, v => v == holder.LockId);
        await holder.ReleaseAsync(Clusters.Bound());
        await probe.AssertNoLocksAsync();
    }

    private static async Task<string?[]> ValuesOnLiveNodesAsync(NodeProbe probe, string resource, int deadPrefix)
    {
        var all = await probe.ValuesAsync(resource);
        Assert.All(all[..deadPrefix], v => Assert.Equal(NodeProbe.Down, v));
        return all[deadPrefix..];
    }
}
