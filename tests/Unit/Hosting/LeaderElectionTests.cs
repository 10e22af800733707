using RedLockNet.Hosting.Election;
using RedLockNet.Tests.Unit.Sim;
using static RedLockNet.Tests.Unit.Hosting.CronSim;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>Leader election on a fake clock over simulated nodes: terms, their end, and the callbacks.</summary>
public sealed class LeaderElectionTests
{
    [Fact]
    public async Task A_replica_that_never_led_never_gets_OnStoppedLeading()
    {
        await using var sim = new SimulatedCluster(3);
        await using var a = SimReplica.Candidate(sim, "a").Start();
        await a.LeadsAsync();
        await using var b = SimReplica.Candidate(sim, "b").Start();

        await sim.AdvanceToAsync(10);
        await EventuallyAsync(() => b.NewLeaders.Contains("a"), "b saw a lead");
        await b.StopAsync();
        await sim.AdvanceToAsync(12);
        await a.StopAsync();

        Assert.Empty(b.Started);
        Assert.Empty(b.Stopped);
        Assert.False(b.Elector.IsLeader);
        var term = Assert.Single(a.Started);
        Assert.Same(term, Assert.Single(a.Stopped));
        Assert.Equal(LeadershipEndReason.Stopped, term.EndReason);
        Assert.False(term.IsActive);
        Assert.False(a.Elector.IsLeader);
        Assert.Null(a.Elector.CurrentTerm);
    }

    [Fact]
    public async Task Without_confirmed_renewals_the_term_ends_by_the_renew_deadline_before_the_lease_can_expire()
    {
        await using var sim = new SimulatedCluster(3);
        var key = SimulatedCluster.KeyOf("cron");
        DateTimeOffset? endedAt = null;
        var holdersAtEnd = -1;
        await using var a = SimReplica.Candidate(sim, "a", o => o.OnStartedLeading = (term, _) =>
        {
            term.CancellationToken.Register(() =>
            {
                endedAt = sim.Time.GetUtcNow();
                holdersAtEnd = sim.Nodes.Count(n => n.Holder(key) == term.Lock.LockId);
            });
            return Task.CompletedTask;
        }).Start();
        await a.LeadsAsync();
        await sim.AdvanceToAsync(7.3);
        await EventuallyAsync(() => sim.ExtendCalls >= 9, "three renewals confirmed"); // at 2, 4 and 6 s

        foreach (var node in sim.Nodes)
        {
            node.IsUp = false;
        }

        await SimulatedCluster.Settle();
        var term = Assert.Single(a.Started);
        // the start of the last confirmed renewal, read back from the lock's validity (ttl less drift, from that start)
        var drift = TimeSpan.FromTicks((long)(LeaseDuration.Ticks * 0.01)) + TimeSpan.FromMilliseconds(2);
        var lastRenewal = sim.Time.GetUtcNow() + term.Lock.RemainingValidity - (LeaseDuration - drift);
        Assert.InRange(Seconds(lastRenewal), 5.9, 7.3);

        var step = TimeSpan.FromMilliseconds(10);
        await sim.AdvanceToAsync(Seconds(lastRenewal + RenewDeadline) - 0.5);
        Assert.True(a.Elector.IsLeader, "the term ended before its renew deadline");
        await sim.AdvanceToAsync(Seconds(lastRenewal + RenewDeadline) + 0.5, step);
        await EventuallyAsync(() => !a.Stopped.IsEmpty, "the term ended and its stop was reported");

        Assert.NotNull(endedAt);
        Assert.True(endedAt <= lastRenewal + RenewDeadline + step, $"ended {(endedAt - lastRenewal)?.TotalSeconds:0.###} s after the last confirmed renewal");
        Assert.True(endedAt < lastRenewal + LeaseDuration - drift);
        Assert.True(endedAt > lastRenewal + RenewDeadline - RetryPeriod, "ended long before the deadline"); // failed renewals alone do not end it
        Assert.Equal(3, holdersAtEnd); // the keys had not expired on any node
        Assert.Equal(LeadershipEndReason.RenewDeadlineExceeded, term.EndReason);
        Assert.Same(term, Assert.Single(a.Stopped));
        Assert.False(a.Elector.IsLeader);
        Assert.Throws<LockLostException>(() => term.EnsureLeading());
    }

    [Fact]
    public async Task A_renewal_refused_by_a_majority_ends_the_term_as_LockLost()
    {
        await using var sim = new SimulatedCluster(3);
        await using var a = SimReplica.Candidate(sim, "a").Start();
        await a.LeadsAsync();
        await sim.AdvanceToAsync(1);
        sim.Nodes[0].Delete(SimulatedCluster.KeyOf("cron"));
        sim.Nodes[1].Delete(SimulatedCluster.KeyOf("cron"));

        await sim.AdvanceToAsync(2.5);
        await EventuallyAsync(() => !a.Stopped.IsEmpty, "the term ended at the first renewal");

        Assert.Equal(LeadershipEndReason.LockLost, Assert.Single(a.Stopped).EndReason);
    }

    [Fact]
    public async Task Standbys_learn_the_leaders_identity_through_OnNewLeader()
    {
        await using var sim = new SimulatedCluster(3);
        await using var a = SimReplica.Candidate(sim, "replica-a").Start();
        await a.LeadsAsync();
        await using var b = SimReplica.Candidate(sim, "replica-b").Start();
        await using var c = SimReplica.Candidate(sim, "replica-c").Start();

        await sim.AdvanceToAsync(6);
        await EventuallyAsync(() => b.NewLeaders.Contains("replica-a") && c.NewLeaders.Contains("replica-a"), "b and c saw a lead");
        Assert.Equal(["replica-a"], a.NewLeaders); // a leader observes itself
        Assert.Equal(["replica-a"], b.NewLeaders); // reported once, not at every campaign
        Assert.Equal(["replica-a"], c.NewLeaders);
        Assert.Equal("replica-a", b.Elector.ObservedLeader);

        await a.StopAsync();
        await sim.AdvanceToAsync(12);
        var next = Assert.Single(new[] { b, c }, r => r.Elector.IsLeader);
        var other = next == b ? c : b;
        await EventuallyAsync(() => other.NewLeaders.Contains(next.Name), "the standby saw the new leader");
        Assert.Equal(["replica-a", next.Name], next.NewLeaders);
        Assert.Equal(["replica-a", next.Name], other.NewLeaders);
        Assert.Equal(next.Name, other.Elector.ObservedLeader);
    }

    [Fact]
    public async Task A_graceful_stop_releases_so_a_standby_leads_at_its_next_campaign()
    {
        await using var sim = new SimulatedCluster(3);
        await using var a = SimReplica.Candidate(sim, "a").Start();
        await a.LeadsAsync();
        await using var b = SimReplica.Candidate(sim, "b").Start();
        await sim.AdvanceToAsync(5);

        var stoppedAt = sim.Time.GetUtcNow();
        await a.StopAsync();
        Assert.All(sim.Nodes, n => Assert.Null(n.Holder(SimulatedCluster.KeyOf("cron"))));
        await sim.AdvanceToAsync(Seconds(stoppedAt + (RetryPeriod * 1.2)) + 0.2);
        await b.LeadsAsync();

        var bTerm = Assert.Single(b.Started);
        Assert.True(bTerm.StartedAt - stoppedAt <= RetryPeriod * 1.2 + Step, $"b led {(bTerm.StartedAt - stoppedAt).TotalSeconds} s after a stopped");
        Assert.True(bTerm.Epoch > Assert.Single(a.Started).Epoch);
        Assert.Equal(LeadershipEndReason.Stopped, Assert.Single(a.Stopped).EndReason);
    }

    [Fact]
    public async Task RunAsync_refuses_a_second_concurrent_run()
    {
        await using var sim = new SimulatedCluster(3);
        await using var a = SimReplica.Candidate(sim, "a").Start();
        await a.LeadsAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => a.Elector.RunAsync(TestContext.Current.CancellationToken));
        Assert.True(a.Elector.IsLeader);
    }
}
