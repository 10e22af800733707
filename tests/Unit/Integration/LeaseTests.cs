using System.Diagnostics;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>Leases on real server processes: renewal, loss by deletion and by frozen nodes, release racing renewal.</summary>
public sealed class LeaseTests
{
    [Fact]
    public async Task Renewal_keeps_a_one_second_lock_for_five_seconds()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await using var rival = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await using var handle = await locks.AcquireAsync("renewed", TimeSpan.FromSeconds(1), Clusters.Bound());

        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            Assert.Null(await rival.TryAcquireAsync("renewed", Clusters.Bound()));
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }

        Assert.Equal(LockStatus.Held, handle.Status);
        Assert.False(handle.LostToken.IsCancellationRequested);
        handle.EnsureValid(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Deleting_the_key_on_a_majority_fires_LostToken_within_one_renewal_period()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await using var probe = await NodeProbe.ConnectAsync(cluster.Endpoints);
        var handle = await locks.AcquireAsync("deleted", TimeSpan.FromSeconds(3), Clusters.Bound());
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = handle.LostToken.Register(() => fired.TrySetResult());
        // acquire returns once a majority granted; let the third grant land first, or the key survives on two nodes
        await probe.EventuallyAsync("deleted", v => v == handle.LockId);

        await probe.DeleteAsync("deleted", 0);
        await probe.DeleteAsync("deleted", 1);
        var watch = Stopwatch.StartNew();
        await fired.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(2), $"fired after {watch.Elapsed}"); // one period (1 s) plus slack
        Assert.Equal(LockLostReason.Refused, handle.LostReason);
        Assert.Throws<LockLostException>(() => handle.EnsureValid());
    }

    [Fact]
    public async Task Freezing_a_majority_fires_LostToken_before_the_validity_deadline()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints, o =>
        {
            o.MinValidity = TimeSpan.FromMilliseconds(800);
            o.LostTokenSafetyMargin = TimeSpan.FromMilliseconds(600);
            o.NodeTimeout = TimeSpan.FromMilliseconds(200);
        }), Clusters.Bound());
        var handle = await locks.AcquireAsync("frozen", TimeSpan.FromSeconds(3), Clusters.Bound());
        long firedAt = 0;
        using var registration = handle.LostToken.Register(() => Interlocked.Exchange(ref firedAt, Stopwatch.GetTimestamp()));

        await cluster.Nodes[0].PauseAsync();
        await cluster.Nodes[1].PauseAsync();
        // no renewal can be confirmed from here on: the last confirmed deadline is the one that binds
        var deadline = Stopwatch.GetTimestamp() + (long)(handle.RemainingValidity.TotalSeconds * Stopwatch.Frequency);

        var fired = await SpinUntilAsync(() => Interlocked.Read(ref firedAt) != 0, TimeSpan.FromSeconds(15));
        await cluster.Nodes[0].ResumeAsync();
        await cluster.Nodes[1].ResumeAsync();

        Assert.True(fired, "the lost token never fired");
        Assert.True(Interlocked.Read(ref firedAt) < deadline,
            $"fired {Stopwatch.GetElapsedTime(deadline, Interlocked.Read(ref firedAt)).TotalMilliseconds:0} ms after the deadline");
        Assert.Equal(LockLostReason.RenewalTimedOut, handle.LostReason);
    }

    [Fact]
    public async Task A_renewal_racing_a_release_never_resurrects_the_key()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await using var probe = await NodeProbe.ConnectAsync(cluster.Endpoints);
        var random = new Random(20261126);
        TestContext.Current.TestOutputHelper?.WriteLine("seed 20261126");
        for (var round = 0; round < 40; round++)
        {
            var resource = $"race:{round}";
            // a 60 ms ttl renews every 20 ms, so releases keep landing while a renewal is in flight
            var handle = await locks.AcquireAsync(resource, new LockRequest { Expiry = TimeSpan.FromMilliseconds(60) }, Clusters.Bound());
            await Task.Delay(random.Next(0, 60), TestContext.Current.CancellationToken);
            await handle.ReleaseAsync(Clusters.Bound());
            await Task.Delay(80, TestContext.Current.CancellationToken); // past any renewal that was in flight
            await probe.EventuallyAsync(resource, v => v is null); // released on a majority at return, on the rest moments later
        }
    }

    [Fact]
    public async Task Ten_thousand_locks_acquired_and_released_leave_no_live_renewal()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        var bound = Clusters.Bound(120);
        var peak = 0;
        for (var wave = 0; wave < 100; wave++)
        {
            var handles = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => locks.AcquireAsync($"many:{wave}:{i}", TimeSpan.FromSeconds(30), bound)));
            peak = Math.Max(peak, locks.Renewer.ActiveLeases);
            await Task.WhenAll(handles.Select(h => h.DisposeAsync().AsTask()));
        }

        Assert.Equal(100, peak);
        Assert.Equal(0, locks.Renewer.ActiveLeases);
        Assert.True(await SpinUntilAsync(() => !locks.Renewer.IsRunning, TimeSpan.FromSeconds(10)), "the renewal loop kept running");
    }

    private static async Task<bool> SpinUntilAsync(Func<bool> condition, TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > bound)
            {
                return false;
            }

            await Task.Delay(5);
        }

        return true;
    }
}
