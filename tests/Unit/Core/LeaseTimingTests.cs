using RedLockNet.Tests.Unit.Sim;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>Cadence, deadline and cap rules on a fake clock against simulated nodes.</summary>
public class LeaseTimingTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Renews_about_every_third_of_the_ttl_and_keeps_the_validity_up()
    {
        await using var sim = new SimulatedCluster(3);
        await using var handle = await sim.Factory.AcquireAsync("cadence", Ttl, TestContext.Current.CancellationToken);

        await sim.AdvanceAsync(TimeSpan.FromMilliseconds(800));
        Assert.Equal(0, sim.ExtendCalls); // not yet a third of the ttl (minus the batching window)

        await sim.AdvanceAsync(TimeSpan.FromMilliseconds(300));
        Assert.True(await SimulatedCluster.EventuallyAsync(() => sim.ExtendCalls == 3)); // one call per node

        await sim.AdvanceAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(LockStatus.Held, handle.Status);
        Assert.False(handle.LostToken.IsCancellationRequested);
        Assert.InRange(handle.RemainingValidity, TimeSpan.FromSeconds(1.5), Ttl);
        Assert.InRange(sim.ExtendCalls / 3, 25, 35); // ~30 s / 1 s
    }

    [Fact]
    public async Task Without_confirmed_renewals_the_token_fires_at_the_deadline_less_the_margin_and_not_before()
    {
        await using var sim = new SimulatedCluster(3);
        var handle = await sim.Factory.AcquireAsync("deadline", Ttl, TestContext.Current.CancellationToken);
        var deadline = handle.RemainingValidity; // 3 s - 32 ms drift
        var margin = TimeSpan.FromTicks(Ttl.Ticks / 20);
        sim.Nodes[0].IsUp = false;
        sim.Nodes[1].IsUp = false;

        await sim.AdvanceAsync(deadline - margin - TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(10));
        Assert.False(handle.LostToken.IsCancellationRequested);
        Assert.Equal(LockStatus.Renewing, handle.Status);

        await sim.AdvanceAsync(TimeSpan.FromMilliseconds(40), TimeSpan.FromMilliseconds(10));
        Assert.True(await SimulatedCluster.EventuallyAsync(() => handle.LostToken.IsCancellationRequested));
        Assert.Equal(LockStatus.Lost, handle.Status);
        Assert.Equal(LockLostReason.RenewalTimedOut, handle.LostReason);
        Assert.Throws<LockLostException>(() => handle.EnsureValid());
    }

    [Fact]
    public async Task A_renewal_refused_by_a_majority_fires_the_token_at_once_and_raises_Lost()
    {
        await using var sim = new SimulatedCluster(3);
        var handle = await sim.Factory.AcquireAsync("refused", Ttl, TestContext.Current.CancellationToken);
        var raised = new TaskCompletionSource<LockLostEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        handle.Lost += (_, e) => raised.TrySetResult(e);
        sim.Nodes[0].Delete(SimulatedCluster.KeyOf("refused"));
        sim.Nodes[2].Delete(SimulatedCluster.KeyOf("refused"));

        await sim.AdvanceAsync(TimeSpan.FromSeconds(1.1)); // one renewal period
        Assert.True(await SimulatedCluster.EventuallyAsync(() => handle.LostToken.IsCancellationRequested));
        Assert.Equal(LockLostReason.Refused, handle.LostReason);
        var args = await raised.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(LockLostReason.Refused, args.Reason);
        Assert.Equal("refused", args.Resource);
        Assert.Equal(TimeSpan.Zero, handle.RemainingValidity);
    }

    [Fact]
    public async Task Renewal_never_re_creates_a_key_that_expired()
    {
        await using var sim = new SimulatedCluster(3);
        var handle = await sim.Factory.AcquireAsync("gone", Ttl, TestContext.Current.CancellationToken);
        foreach (var node in sim.Nodes)
        {
            node.Delete(SimulatedCluster.KeyOf("gone"));
        }

        await sim.AdvanceAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(LockStatus.Lost, handle.Status);
        Assert.All(sim.Nodes, n => Assert.Null(n.Holder(SimulatedCluster.KeyOf("gone"))));
    }

    [Fact]
    public async Task The_hold_time_cap_ends_the_lock_at_the_cap_even_while_renewals_succeed()
    {
        await using var sim = new SimulatedCluster(3);
        var handle = await sim.Factory.AcquireAsync("cap",
            new LockRequest { Expiry = Ttl, MaxHoldTime = TimeSpan.FromSeconds(7) }, TestContext.Current.CancellationToken);

        await sim.AdvanceAsync(TimeSpan.FromSeconds(6.5));
        Assert.Equal(LockStatus.Held, handle.Status);

        await sim.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.True(await SimulatedCluster.EventuallyAsync(() => handle.LostToken.IsCancellationRequested));
        Assert.Equal(LockLostReason.HoldTimeCapReached, handle.LostReason);
        // the keys were never extended past the cap
        await sim.AdvanceAsync(TimeSpan.FromMilliseconds(200));
        Assert.All(sim.Nodes, n => Assert.Null(n.Holder(SimulatedCluster.KeyOf("cap"))));
    }

    [Fact]
    public async Task Without_auto_renewal_the_token_fires_as_the_validity_runs_out()
    {
        await using var sim = new SimulatedCluster(3);
        var handle = await sim.Factory.AcquireAsync("manual", new LockRequest { Expiry = Ttl, AutoRenew = false }, TestContext.Current.CancellationToken);

        await sim.AdvanceAsync(TimeSpan.FromSeconds(3));
        Assert.True(await SimulatedCluster.EventuallyAsync(() => handle.LostToken.IsCancellationRequested));
        Assert.Equal(LockLostReason.Expired, handle.LostReason);
        Assert.Equal(0, sim.ExtendCalls);
    }

    [Fact]
    public async Task A_released_lock_never_fires_its_token()
    {
        await using var sim = new SimulatedCluster(3);
        var handle = await sim.Factory.AcquireAsync("released", Ttl, TestContext.Current.CancellationToken);
        await handle.ReleaseAsync(TestContext.Current.CancellationToken);

        await sim.AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100));
        Assert.False(handle.LostToken.IsCancellationRequested);
        Assert.Equal(LockStatus.Released, handle.Status);
        Assert.Null(handle.LostReason);
        Assert.Equal(0, sim.ExtendCalls);
        Assert.False(await handle.ExtendAsync(cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Manual_extend_sets_the_new_ttl_for_later_renewals_too()
    {
        await using var sim = new SimulatedCluster(3);
        await using var handle = await sim.Factory.AcquireAsync("extend", Ttl, TestContext.Current.CancellationToken);

        Assert.True(await handle.ExtendAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.InRange(handle.RemainingValidity, TimeSpan.FromSeconds(29), TimeSpan.FromSeconds(30));

        await sim.AdvanceAsync(TimeSpan.FromSeconds(12), TimeSpan.FromMilliseconds(50));
        Assert.InRange(handle.RemainingValidity, TimeSpan.FromSeconds(17), TimeSpan.FromSeconds(30)); // renewed at ~10 s with 30 s
        Assert.Equal(LockStatus.Held, handle.Status);
    }

    [Fact]
    public async Task Manual_extend_refuses_a_bad_expiry_and_sends_nothing()
    {
        await using var sim = new SimulatedCluster(3);
        await using var handle = await sim.Factory.AcquireAsync("extend-bad", Ttl, TestContext.Current.CancellationToken);
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => handle.ExtendAsync(TimeSpan.FromMilliseconds(5), TestContext.Current.CancellationToken));
        Assert.Equal("expiry", ex.ParamName);
        Assert.Equal(0, sim.ExtendCalls);
    }

    [Fact]
    public async Task Manual_extend_refused_by_a_majority_returns_false_and_loses_the_lock()
    {
        await using var sim = new SimulatedCluster(3);
        var handle = await sim.Factory.AcquireAsync("extend-refused", new LockRequest { Expiry = Ttl, AutoRenew = false }, TestContext.Current.CancellationToken);
        sim.Nodes[1].Delete(SimulatedCluster.KeyOf("extend-refused"));
        sim.Nodes[2].Hold(SimulatedCluster.KeyOf("extend-refused"), "thief", TimeSpan.FromMinutes(1));

        Assert.False(await handle.ExtendAsync(cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(LockLostReason.Refused, handle.LostReason);
        Assert.Equal("thief", sim.Nodes[2].Holder(SimulatedCluster.KeyOf("extend-refused")));
    }

    [Fact]
    public async Task Manual_extend_without_a_majority_throws_and_keeps_the_old_deadline()
    {
        await using var sim = new SimulatedCluster(3);
        var handle = await sim.Factory.AcquireAsync("extend-down", new LockRequest { Expiry = Ttl, AutoRenew = false }, TestContext.Current.CancellationToken);
        var before = handle.RemainingValidity;
        sim.Nodes[0].IsUp = false;
        sim.Nodes[1].IsUp = false;

        var ex = await Assert.ThrowsAsync<QuorumUnavailableException>(() => handle.ExtendAsync(TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken));
        Assert.Equal(2, ex.Failures.Count);
        Assert.Equal(LockStatus.Renewing, handle.Status);
        Assert.True(handle.RemainingValidity <= before);
    }

    [Fact]
    public async Task Many_leases_due_together_are_renewed_in_batches_not_one_call_each()
    {
        await using var sim = new SimulatedCluster(3);
        var handles = new List<ILockHandle>();
        for (var i = 0; i < 1000; i++)
        {
            handles.Add(await sim.Factory.AcquireAsync($"batch:{i}", Ttl, TestContext.Current.CancellationToken));
        }

        await sim.AdvanceAsync(TimeSpan.FromSeconds(1.1));
        Assert.True(await SimulatedCluster.EventuallyAsync(() => sim.Nodes.All(n => n.ExtendedLocks == 1000)));
        Assert.All(sim.Nodes, n => Assert.Equal(4, n.ExtendCalls)); // ceil(1000 / 256) per node
        foreach (var handle in handles)
        {
            await handle.DisposeAsync();
        }
    }

    [Fact]
    public async Task Releasing_every_lock_leaves_no_lease_and_no_renewal_loop()
    {
        await using var sim = new SimulatedCluster(3);
        for (var i = 0; i < 10_000; i++)
        {
            var handle = await sim.Factory.AcquireAsync($"leak:{i % 50}", Ttl, TestContext.Current.CancellationToken);
            await handle.DisposeAsync();
        }

        Assert.Equal(0, sim.Factory.Renewer.ActiveLeases);
        Assert.True(await SimulatedCluster.EventuallyAsync(() => !sim.Factory.Renewer.IsRunning));
    }

    [Fact]
    public async Task A_released_lease_leaves_the_renewal_queue_at_once()
    {
        await using var sim = new SimulatedCluster(3);
        var kept = await sim.Factory.AcquireAsync("kept", Ttl, TestContext.Current.CancellationToken);
        var released = await sim.Factory.AcquireAsync("released", Ttl, TestContext.Current.CancellationToken);
        Assert.Equal(2, sim.Factory.Renewer.QueuedLeases);

        await released.ReleaseAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, sim.Factory.Renewer.QueuedLeases); // not left in the queue until it falls due
        Assert.True(sim.Factory.Renewer.IsRunning); // the kept lease still has its renewal armed

        await kept.ReleaseAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, sim.Factory.Renewer.QueuedLeases);
        Assert.False(sim.Factory.Renewer.IsRunning);
    }

    [Fact]
    public async Task A_handle_dropped_without_release_stops_being_renewed()
    {
        await using var sim = new SimulatedCluster(3);
        var token = await AcquireAndDropAsync(sim.Factory);
        for (var i = 0; i < 5 && sim.Factory.Renewer.ActiveLeases > 0; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await sim.AdvanceAsync(TimeSpan.FromSeconds(1.1), TimeSpan.FromMilliseconds(50));
        }

        var extendsAfterDrop = sim.ExtendCalls;
        await sim.AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50));
        Assert.Equal(extendsAfterDrop, sim.ExtendCalls);
        Assert.True(await SimulatedCluster.EventuallyAsync(() => token.IsCancellationRequested)); // whoever kept the token learns it
        Assert.Equal(0, sim.Factory.Renewer.ActiveLeases);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static async Task<CancellationToken> AcquireAndDropAsync(RedLockFactory factory) =>
        (await factory.AcquireAsync("dropped", Ttl, TestContext.Current.CancellationToken)).LostToken;
}
