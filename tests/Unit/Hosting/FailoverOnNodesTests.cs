using System.Diagnostics;
using RedLockNet.Hosting.Election;
using RedLockNet.Tests.Unit.Integration;
using static RedLockNet.Tests.Unit.Hosting.Replicas;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>
/// Changes of leader among replicas on real server processes: a crash (connections dropped, nothing released)
/// and a graceful stop. Every test uses its own election group, so they can share the nodes.
/// </summary>
public sealed class FailoverOnNodesTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    [Fact]
    public async Task When_the_leader_crashes_a_standby_takes_over_within_the_lease_and_no_tick_runs_twice()
    {
        var ledger = new RunLedger();
        var replicas = await StartAsync(Nodes.Endpoints, Election("cron-crash"), ledger);
        try
        {
            Assert.True(await UntilAsync(() => replicas.Any(r => r.IsLeader), TimeSpan.FromSeconds(15)), "no replica became leader");
            var ranBefore = NextWholeSecond(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2));
            Assert.True(await UntilAsync(() => ledger.Ran(ranBefore), TimeSpan.FromSeconds(15)), "the leader ran no tick");
            await Task.Delay(300, TestContext.Current.CancellationToken); // mid-second: no claim in flight

            var victim = Assert.Single(replicas, r => r.IsLeader);
            var crashedAt = RunLedger.Now;
            await victim.CrashAsync();
            var crashTook = RunLedger.Now - crashedAt;

            LedgerRun? next = null;
            Assert.True(await UntilAsync(() => (next = ledger.All.Where(r => r.At > crashedAt && r.Context.ReplicaId != victim.Name).MinBy(r => r.At)) is not null, TimeSpan.FromSeconds(20)),
                "no other replica ran a tick after the crash");
            var failover = next!.At - crashedAt;
            var heir = Assert.Single(replicas, r => r.Name == next.Context.ReplicaId);
            var heirTerm = Assert.Single(heir.Started);
            Output?.WriteLine($"[{Nodes.Cluster.Backend}] crash -> next tick run on {heir.Name}: {failover.TotalSeconds:0.000} s (crash itself took {crashTook.TotalMilliseconds:0} ms; lease {Lease.TotalSeconds} s, retry {Retry.TotalSeconds} s)");

            // a few ticks under the new leader, then a graceful stop
            var after = NextWholeSecond(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2));
            Assert.True(await UntilAsync(() => ledger.Ran(after), TimeSpan.FromSeconds(15)), "the new leader stopped running ticks");
            foreach (var replica in replicas.Where(r => r != victim))
            {
                await replica.StopAsync();
            }

            Report(ledger, replicas);
            Assert.True(failover <= Lease + (Retry * 1.2) + TimeSpan.FromSeconds(2.5), $"the next tick ran {failover.TotalSeconds:0.000} s after the crash");
            Assert.Empty(ledger.Twice());
            var victimTerm = Assert.Single(victim.Started);
            Assert.True(heirTerm.Epoch > victimTerm.Epoch);
            // every tick from the first one to the last one ran, the missed ones late on the new leader
            var ticks = ledger.Runs.Keys.Order().ToList();
            for (var tick = ticks[0]; tick <= ticks[^1]; tick = tick.AddSeconds(1))
            {
                Assert.True(ledger.Runs.ContainsKey(tick), $"tick {tick:HH:mm:ss} never ran");
            }

            var late = ledger.All.Where(r => r.Context.IsCatchUp).ToList();
            Assert.NotEmpty(late);
            Assert.All(late, r => Assert.Equal(heir.Name, r.Context.ReplicaId));
            Assert.All(ledger.All.Where(r => r.Context.ReplicaId == victim.Name), r => Assert.True(r.At <= crashedAt + crashTook, $"{r} ran after the crash"));
        }
        finally
        {
            await DisposeAllAsync(replicas);
        }
    }

    [Fact]
    public async Task A_graceful_stop_hands_over_well_before_the_lease_and_only_the_leader_hears_it_stopped()
    {
        var ledger = new RunLedger();
        var election = Election("cron-handover");
        election.LeaseDuration = TimeSpan.FromSeconds(10);
        election.RenewDeadline = TimeSpan.FromSeconds(6);
        var replicas = await StartAsync(Nodes.Endpoints, election, ledger);
        try
        {
            Assert.True(await UntilAsync(() => replicas.Any(r => r.IsLeader), TimeSpan.FromSeconds(15)), "no replica became leader");
            await Task.Delay(1500, TestContext.Current.CancellationToken);
            var leader = Assert.Single(replicas, r => r.IsLeader);
            var standbys = replicas.Where(r => r != leader).ToList();

            await standbys[0].StopAsync();
            Assert.Empty(standbys[0].Started);
            Assert.Empty(standbys[0].Stopped);

            var watch = Stopwatch.StartNew();
            await leader.StopAsync();
            var tookOver = await UntilAsync(() => standbys[1].IsLeader, TimeSpan.FromSeconds(15));
            var handover = watch.Elapsed;
            Output?.WriteLine($"[{Nodes.Cluster.Backend}] graceful stop -> standby leads: {handover.TotalSeconds:0.000} s (lease {election.LeaseDuration.TotalSeconds} s)");
            await Task.Delay(1000, TestContext.Current.CancellationToken);
            await standbys[1].StopAsync();

            Assert.True(tookOver, "the standby never led");
            Assert.True(handover < election.LeaseDuration / 2, $"took {handover.TotalSeconds:0.000} s");
            var term = Assert.Single(leader.Started);
            Assert.Same(term, Assert.Single(leader.Stopped));
            Assert.Equal(LeadershipEndReason.Stopped, term.EndReason);
            Assert.True(Assert.Single(standbys[1].Started).Epoch > term.Epoch);
            Assert.Empty(standbys[0].Stopped);
            Assert.Empty(ledger.Twice());
            await Probe.EventuallyAsync(election.Group, v => v is null); // released on a majority at return, on the rest moments later
        }
        finally
        {
            await DisposeAllAsync(replicas);
        }
    }
}
