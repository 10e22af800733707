using Microsoft.Extensions.Time.Testing;
using RedLockNet.Tests.Unit.Sim;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>
/// An extension is held to the rule an acquisition is: a majority's confirmation that leaves less than the minimum
/// validity does not count. The lease stays Renewing, with the deadline the late extension set, and is lost there
/// unless a later renewal counts. On the fake clock, with the nodes' answers delivered by hand.
/// </summary>
public sealed class ExtensionValidityTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task An_extension_confirmed_too_late_for_the_minimum_validity_does_not_count()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var network = new NetworkScheduler();
        var nodes = Enumerable.Range(0, 3).Select(i => new ScheduledNode(new SimulatedNode($"n{i}:6379", time), network)).ToArray();
        var options = new RedLockOptions { TimeProvider = time, AutoRenew = false, NodeTimeout = TimeSpan.FromSeconds(9), MinValidity = TimeSpan.FromSeconds(3) };
        await using var factory = RedLockFactory.CreateForNodes(nodes, options);
        var timing = factory.TimingFor(Ttl);
        Assert.Equal(TimeSpan.FromMilliseconds(500), timing.SafetyMargin); // the acquisition's token fires at 10 s - 102 ms - 500 ms

        var acquiring = factory.AcquireAsync("late-extension", TestContext.Current.CancellationToken);
        for (var node = 0; node < 3; node++)
        {
            NetworkScheduler.Deliver(Take(network, node, "acquire"));
        }

        var handle = await acquiring.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken); // not released: the nodes answer only when told
        time.Advance(TimeSpan.FromSeconds(2));

        // the extension's answers come 6.95 s after it was sent: 10 s - 6.95 s - drift (102 ms) = 2.948 s < 3 s
        var extending = handle.ExtendAsync(Ttl, TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromSeconds(6.95));
        NetworkScheduler.Deliver(Take(network, 0, "extend"));
        NetworkScheduler.Deliver(Take(network, 1, "extend"));
        var refusal = await Assert.ThrowsAsync<QuorumUnavailableException>(() => extending.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.Contains("too late to leave the minimum validity", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(LockStatus.Renewing, handle.Status);
        Assert.False(handle.LostToken.IsCancellationRequested);

        // its deadline is the late extension's (sent at 2 s: 2 s + 10 s - drift), not the acquisition's (10 s - drift)
        time.Advance(TimeSpan.FromSeconds(1.05)); // 10 s: past the acquisition's deadline
        await SimulatedCluster.Settle();
        Assert.False(handle.LostToken.IsCancellationRequested);
        Assert.True(handle.RemainingValidity > TimeSpan.Zero);
        NetworkScheduler.Deliver(Take(network, 2, "extend"));

        // and nothing later counted: the token fires by that deadline (11.898 s, less the margin)
        time.Advance(TimeSpan.FromSeconds(1.5));
        Assert.True(await SimulatedCluster.EventuallyAsync(() => handle.LostToken.IsCancellationRequested));
        Assert.Equal(LockStatus.Lost, handle.Status);
    }

    private static NetworkCall Take(NetworkScheduler network, int node, string script) =>
        network.TakeWhere(c => c.Node.Name == $"n{node}:6379" && c.Script.Name == script)
        ?? throw new InvalidOperationException($"no {script} call in flight to node {node}");
}
