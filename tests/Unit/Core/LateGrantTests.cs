using Microsoft.Extensions.Time.Testing;
using RedLockNet.Tests.Unit.Sim;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>
/// A node's grant can arrive after the lock was handed out, and even after its release ran there: the first use of
/// a script on a node goes EVALSHA, NOSCRIPT, then EVAL, and an acquisition on a node being checked for a restart
/// waits for the check, so a release sent later can run first. Such a key must be removed when it shows up, or it
/// blocks everyone until its ttl. A grant that answers before the release (the usual order on one connection) needs
/// nothing more: the release ran after it.
/// </summary>
public class LateGrantTests
{
    [Theory]
    [InlineData(false, "acquire")]
    [InlineData(true, "acquire_fenced")]
    public async Task A_grant_that_lands_after_the_release_is_removed_when_it_arrives(bool fencingOnAcquire, string acquire)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var network = new NetworkScheduler();
        var nodes = Enumerable.Range(0, 3).Select(i => new ScheduledNode(new SimulatedNode($"n{i}:6379", time), network)).ToArray();
        await using var factory = RedLockFactory.CreateForNodes(nodes, new RedLockOptions { TimeProvider = time, AutoRenew = false, FencingOnAcquire = fencingOnAcquire });
        var key = SimulatedCluster.KeyOf("late");

        var acquiring = factory.AcquireAsync("late", TestContext.Current.CancellationToken);
        NetworkScheduler.Deliver(Take(network, 0, acquire));
        NetworkScheduler.Deliver(Take(network, 1, acquire));
        var handle = await acquiring.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        var releasing = handle.ReleaseAsync(TestContext.Current.CancellationToken).AsTask();
        for (var node = 0; node < 3; node++)
        {
            NetworkScheduler.Deliver(Take(network, node, "release"));
        }

        await releasing.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        NetworkScheduler.Deliver(Take(network, 2, acquire)); // the straggler grants now
        Assert.Equal(handle.LockId, nodes[2].State.Holder(key));

        // the library answers the late grant with a release of its own
        NetworkScheduler.Deliver(Take(network, 2, "release"));
        Assert.Null(nodes[2].State.Holder(key));
    }

    [Fact]
    public async Task A_grant_that_answers_before_the_release_is_not_released_twice()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var network = new NetworkScheduler();
        var nodes = Enumerable.Range(0, 3).Select(i => new ScheduledNode(new SimulatedNode($"n{i}:6379", time), network)).ToArray();
        await using var factory = RedLockFactory.CreateForNodes(nodes, new RedLockOptions { TimeProvider = time, AutoRenew = false });
        var key = SimulatedCluster.KeyOf("in-order");

        var acquiring = factory.AcquireAsync("in-order", TestContext.Current.CancellationToken);
        NetworkScheduler.Deliver(Take(network, 0, "acquire"));
        NetworkScheduler.Deliver(Take(network, 1, "acquire"));
        var handle = await acquiring.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        var releasing = handle.ReleaseAsync(TestContext.Current.CancellationToken).AsTask();
        NetworkScheduler.Deliver(Take(network, 2, "acquire")); // answers first, as one connection does
        for (var node = 0; node < 3; node++)
        {
            NetworkScheduler.Deliver(Take(network, node, "release"));
        }

        await releasing.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Null(nodes[2].State.Holder(key));
        Assert.Null(network.TakeWhere(c => c.Script.Name == "release")); // no second release
    }

    private static NetworkCall Take(NetworkScheduler network, int node, string script) =>
        network.TakeWhere(c => c.Node.Name == $"n{node}:6379" && c.Script.Name == script)
        ?? throw new InvalidOperationException($"no {script} call in flight to node {node}");
}
