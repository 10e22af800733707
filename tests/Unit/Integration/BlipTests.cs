using System.Diagnostics;
using RedLockNet.Idempotency;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>
/// A blip is not an outage: with a majority of nodes frozen (SIGSTOP) for less than the caller's wait, callers that
/// wait ride it out, and a caller that did not ask to wait fails fast with the typed error. The bounds prove only that
/// nothing hangs.
/// </summary>
public sealed class BlipTests
{
    private static readonly TimeSpan Blip = TimeSpan.FromSeconds(1.5);

    [Fact]
    public async Task Idempotent_processing_and_a_waiting_acquire_ride_out_a_majority_blip_while_a_try_fails_fast()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        var processor = new IdempotentProcessor(locks, new IdempotencyOptions { WaitTimeout = TimeSpan.FromSeconds(20) });

        await FreezeAsync(cluster, 0, 1);
        var thawed = ThawAfterAsync(cluster, Blip, 0, 1);
        try
        {
            // without a wait: the typed error at once (a generous bound: it must not wait the blip out)
            var clock = Stopwatch.StartNew();
            var refusal = await Assert.ThrowsAsync<QuorumUnavailableException>(() => locks.TryAcquireAsync(Clusters.UniqueResource("try"), Clusters.Bound()));
            Assert.True(clock.Elapsed < Blip, $"TryAcquireAsync without a wait failed fast ({clock.Elapsed.TotalMilliseconds:F0} ms)");
            Assert.Equal(2, refusal.Failures.Count);

            // with a wait: both succeed once the nodes are back
            var run = processor.RunOnceAsync(Clusters.UniqueResource("delivery"), _ => Task.FromResult("charged"), Clusters.Bound());
            var acquire = locks.AcquireAsync(Clusters.UniqueResource("wait"), new LockRequest { WaitTimeout = TimeSpan.FromSeconds(20) }, Clusters.Bound());
            var outcome = await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.True(outcome.Executed);
            Assert.Equal("charged", outcome.Result);
            await using var handle = await acquire.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.Equal(LockStatus.Held, handle.Status);
        }
        finally
        {
            await thawed;
        }
    }

    [Fact]
    public async Task Idempotent_processing_gives_up_with_the_typed_error_naming_the_nodes_when_the_outage_outlasts_its_wait()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        var processor = new IdempotentProcessor(locks, new IdempotencyOptions { WaitTimeout = TimeSpan.FromSeconds(1) });

        await FreezeAsync(cluster, 1, 2);
        try
        {
            var handled = false;
            var clock = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<QuorumUnavailableException>(() =>
                processor.RunOnceAsync(Clusters.UniqueResource("outage"), _ => { handled = true; return Task.FromResult(1); }, Clusters.Bound()));
            Assert.False(handled);
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1), $"it retried for its wait ({clock.Elapsed.TotalMilliseconds:F0} ms)");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "and then gave up");
            Assert.Contains(error.Failures, f => f.Node == cluster.Nodes[1].Endpoint);
            Assert.Contains(error.Failures, f => f.Node == cluster.Nodes[2].Endpoint);
        }
        finally
        {
            await cluster.Nodes[1].ResumeAsync();
            await cluster.Nodes[2].ResumeAsync();
        }
    }

    private static async Task FreezeAsync(TestNodeCluster cluster, params int[] nodes)
    {
        foreach (var node in nodes)
        {
            await cluster.Nodes[node].PauseAsync();
        }
    }

    private static async Task ThawAfterAsync(TestNodeCluster cluster, TimeSpan after, params int[] nodes)
    {
        await Task.Delay(after, TestContext.Current.CancellationToken);
        foreach (var node in nodes)
        {
            await cluster.Nodes[node].ResumeAsync();
        }
    }
}
