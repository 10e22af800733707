using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.Election;
using RedLockNet.Tests.Unit.Sim;
using static RedLockNet.Tests.Unit.Hosting.CronSim;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>
/// Ticks missed while no replica led, on a fake clock over simulated nodes: caught up once within the misfire
/// grace, reported past it, and nothing caught up for a job that never ran.
/// </summary>
public sealed class CronMisfireTests
{
    [Fact]
    public async Task A_standby_catches_up_the_ticks_missed_after_the_leader_crashed_once_each_within_the_grace()
    {
        await using var sim = new SimulatedCluster(3);
        var log = new JobLog(sim.Time);
        var job = CronJob.Create("report", "* * * * * *", log.Body());
        await using var a = SimReplica.Cron(sim, "replica-a", [job], o => o.Election.ReleaseOnStop = false).Start();
        await a.LeadsAsync();
        await using var b = SimReplica.Cron(sim, "replica-b", [job]).Start();

        await sim.AdvanceToAsync(20.5);
        await EventuallyAsync(() => log.Ran(20), "tick 20 ran");
        var crashedAt = sim.Time.GetUtcNow();
        await a.StopAsync(); // a crash as far as the nodes can tell: nothing is released
        var aTerm = Assert.Single(a.Started);
        Assert.All(sim.Nodes, n => Assert.Equal(aTerm.Lock.LockId, n.Holder(SimulatedCluster.KeyOf("cron"))));

        await sim.AdvanceToAsync(50.5);
        await EventuallyAsync(() => log.Ran(50), "tick 50 ran");

        var counts = log.Counts();
        Assert.Equal(Ticks(1, 50), counts.Keys.Order());
        Assert.All(counts, c => Assert.True(c.Value == 1, $"tick {c.Key:O} ran {c.Value} times"));
        var bTerm = Assert.Single(b.Started);
        Assert.True(bTerm.Epoch > aTerm.Epoch);
        // b waited for a's lease: a's last renewal was at most one retry period before the crash
        Assert.True(bTerm.StartedAt >= crashedAt + LeaseDuration - RetryPeriod - TimeSpan.FromSeconds(0.5), $"b led at {Seconds(bTerm.StartedAt)} s");
        Assert.All(log.Runs.Where(r => r.Context.FireTime <= At(20)), r => Assert.Equal(new CronJobContext("report", r.Context.FireTime, aTerm.Epoch, "replica-a", false), r.Context));
        var late = log.Runs.Where(r => r.Context.IsCatchUp).ToList();
        Assert.All(late, r => Assert.Equal("replica-b", r.Context.ReplicaId));
        Assert.All(late, r => Assert.True(r.Context.FireTime > At(20) && r.Context.FireTime <= bTerm.StartedAt + TimeSpan.FromSeconds(1), r.ToString()));
        Assert.Subset(late.Select(r => r.Context.FireTime).ToHashSet(), Ticks(21, 33).ToHashSet()); // a's key lives 15 s past its last renewal
        Assert.All(log.Runs.Where(r => r.Context.FireTime <= bTerm.StartedAt && r.Context.ReplicaId == "replica-b"), r => Assert.True(r.Context.IsCatchUp, r.ToString()));
        Assert.All(log.Runs.Where(r => r.Context.FireTime > bTerm.StartedAt + TimeSpan.FromSeconds(1)), r => Assert.False(r.Context.IsCatchUp, r.ToString()));
        Assert.Equal(LeadershipEndReason.Stopped, Assert.Single(a.Stopped).EndReason);
        Assert.DoesNotContain(b.Settled, e => e.Outcome == CronTickOutcome.MissedPastGrace);
    }

    [Fact]
    public async Task Ticks_missed_longer_than_the_grace_are_reported_MissedPastGrace_and_not_run()
    {
        await using var sim = new SimulatedCluster(3);
        var log = new JobLog(sim.Time);
        var job = CronJob.Create("report", "* * * * * *", log.Body());
        await using var a = SimReplica.Cron(sim, "replica-a", [job], o => o.Election.ReleaseOnStop = false).Start();
        await a.LeadsAsync();
        await using var b = SimReplica.Cron(sim, "replica-b", [job], o => o.MisfireGrace = TimeSpan.FromSeconds(5)).Start();

        await sim.AdvanceToAsync(20.5);
        await EventuallyAsync(() => log.Ran(20), "tick 20 ran");
        await a.StopAsync();
        await sim.AdvanceToAsync(50.5);
        await EventuallyAsync(() => log.Ran(50), "tick 50 ran");

        var past = b.Settled.Where(e => e.Outcome == CronTickOutcome.MissedPastGrace).ToList();
        var pastTicks = past.Select(e => e.FireTime).ToList();
        Assert.Equal(pastTicks.Distinct(), pastTicks);
        Assert.Subset(pastTicks.ToHashSet(), Ticks(21, 28).ToHashSet()); // b leads 15 s or more after a's last renewal
        Assert.All(past, e => Assert.True(e.IsCatchUp && e.Detail is not null && e.Detail.Contains("grace", StringComparison.Ordinal), e.Detail));
        var counts = log.Counts();
        Assert.Empty(counts.Keys.Intersect(pastTicks)); // reported, never run
        Assert.Equal(Ticks(1, 50), counts.Keys.Concat(pastTicks).Order()); // every tick either ran or was reported
        Assert.All(counts, c => Assert.True(c.Value == 1, $"tick {c.Key:O} ran {c.Value} times"));
        var bTerm = Assert.Single(b.Started);
        var late = log.Runs.Where(r => r.Context.IsCatchUp).Select(r => r.Context.FireTime).ToList();
        Assert.NotEmpty(late);
        Assert.True(pastTicks.Max() < late.Min());
        Assert.All(late, t => Assert.True(t >= bTerm.StartedAt - TimeSpan.FromSeconds(5), $"{Seconds(t)} ran late, past the grace"));
    }

    [Fact]
    public async Task A_new_leader_after_a_long_gap_runs_only_the_ticks_within_the_grace()
    {
        await using var sim = new SimulatedCluster(3);
        var log = new JobLog(sim.Time);
        var job = CronJob.Create("report", "* * * * * *", log.Body());
        await using var a = SimReplica.Cron(sim, "replica-a", [job], o => o.Election.ReleaseOnStop = false).Start();
        await a.LeadsAsync();
        await sim.AdvanceToAsync(10.5);
        await EventuallyAsync(() => log.Ran(10), "tick 10 ran");
        await a.StopAsync();

        await sim.AdvanceToAsync(30.5); // no replica runs for 20 s; a's lease ran out meanwhile
        await using var b = SimReplica.Cron(sim, "replica-b", [job], o => o.MisfireGrace = TimeSpan.FromSeconds(5)).Start();
        await b.LeadsAsync();
        await EventuallyAsync(() => log.Ran(30), "the catch-up reached tick 30"); // the clock stands still meanwhile

        Assert.Equal(Ticks(11, 25), b.Settled.Where(e => e.Outcome == CronTickOutcome.MissedPastGrace).Select(e => e.FireTime));
        Assert.Equal(Ticks(26, 30), log.Runs.Where(r => r.Context.IsCatchUp).Select(r => r.Context.FireTime));
        Assert.All(log.Runs.Where(r => r.Context.IsCatchUp), r => Assert.Equal("replica-b", r.Context.ReplicaId));

        await sim.AdvanceToAsync(33.5);
        await EventuallyAsync(() => log.Ran(33), "tick 33 ran");
        Assert.Equal([.. Ticks(1, 10), .. Ticks(26, 33)], log.FireTimes);
        Assert.All(log.Runs.Where(r => r.Context.FireTime > At(30)), r => Assert.False(r.Context.IsCatchUp));
    }

    [Fact]
    public async Task A_job_that_never_ran_catches_nothing_up_on_first_leadership()
    {
        await using var sim = new SimulatedCluster(3);
        var old = new JobLog(sim.Time);
        var fresh = new JobLog(sim.Time);
        var oldJob = CronJob.Create("old", "* * * * * *", old.Body());
        var freshJob = CronJob.Create("new", "* * * * * *", fresh.Body());
        await sim.AdvanceToAsync(100.5, TimeSpan.FromSeconds(1)); // a clock long past many ticks
        await using var a = SimReplica.Cron(sim, "replica-a", [oldJob]).Start();
        await a.LeadsAsync();
        await sim.AdvanceToAsync(110.5);
        await EventuallyAsync(() => old.Ran(110), "tick 110 ran");
        Assert.Equal(Ticks(101, 110), old.FireTimes);
        await a.StopAsync(); // graceful

        await sim.AdvanceToAsync(120.5);
        await using var b = SimReplica.Cron(sim, "replica-b", [oldJob, freshJob]).Start();
        await b.LeadsAsync();
        await sim.AdvanceToAsync(123.5);
        await EventuallyAsync(() => fresh.Ran(123) && old.Ran(123), "tick 123 ran");

        Assert.Equal(Ticks(121, 123), fresh.FireTimes); // nothing before b led
        Assert.All(fresh.Runs, r => Assert.False(r.Context.IsCatchUp));
        Assert.DoesNotContain(b.Settled, e => e.JobName == "new" && (e.IsCatchUp || e.FireTime <= At(120.5)));
        Assert.Equal(Ticks(101, 123), old.FireTimes); // the job that ran before does catch up (grace 1 min)
        Assert.Equal(Ticks(111, 120), old.Runs.Where(r => r.Context.IsCatchUp).Select(r => r.Context.FireTime));
    }
}
