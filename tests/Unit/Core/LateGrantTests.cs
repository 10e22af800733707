using Microsoft.Extensions.Time.Testing;
using RedLockNet.Tests.Unit.Sim;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>
/// A node's grant can arrive after the lock was handed out, and even after its release ran there: the first use of
/// a script on a node goes EVALSHA, NOSCRIPT, then EVAL, and a release sent later can run before that EVAL.
/// Such a key must be removed when it shows up, or it blocks everyone until its ttl.
/// </summary>
public class LateGrantTests
{
    [Fact]
    public async Task A_grant_that_lands_after_the_release_is_removed_when_it_arrives()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var network = new NetworkScheduler();
        var nodes = Enumerable.Range(0, 3).Select(i => new ScheduledNode(new SimulatedNode($"n{i}:6379", time), network)).ToArray();
        await using var factory = RedLockFactory.CreateForNodes(nodes, new RedLockOptions { TimeProvider = time, AutoRenew = false });
        var key = SimulatedCluster.KeyOf("late");

        var acquiring = factory.AcquireAsync("late", TestContext.Current.CancellationToken);
        NetworkScheduler.Deliver(Take(network, 0, "acquire_fenced"));
        NetworkScheduler.Deliver(Take(network, 1, "acquire_fenced"));
        var handle = await acquiring.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        var releasing = handle.ReleaseAsync(TestContext.Current.CancellationToken).AsTask();
        for (var node = 0; node < 3; node++)
        {
            NetworkScheduler.Deliver(Take(network, node, "release"));
        }

        await releasing.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        NetworkScheduler.Deliver(Take(network, 2, "acquire_fenced")); // the straggler grants now
        Assert.Equal(handle.LockId, nodes[2].State.Holder(key));

        // the library answers the late grant with a release of its own
        NetworkScheduler.Deliver(Take(network, 2, "release"));
        Assert.Null(nodes[2].State.Holder(key));
    }

    private static NetworkCall Take(NetworkScheduler network, int node, string script) =>
        network.TakeWhere(c => c.Node.Name == $"n{node}:6379" && c.Script.Name == script)
        ?? throw new InvalidOperationException($"no {script} call in flight to node {node}");
}
