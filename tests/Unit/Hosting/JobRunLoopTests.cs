using Polly;
using Polly.Retry;
using RedLockNet.Hosting.Cron;
using RedLockNet.Tests.Unit.Sim;
using static RedLockNet.Tests.Unit.Hosting.CronSim;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>The cron runner on a fake clock over simulated nodes: scheduling, exactly-once across replicas, overlap, failures.</summary>
public sealed class JobRunLoopTests
{
    [Fact]
    public async Task A_leader_runs_each_tick_once_with_its_fire_time_epoch_and_replica()
    {
        await using var sim = new SimulatedCluster(3);
        var log = new JobLog(sim.Time);
        await using var a = SimReplica.Cron(sim, "replica-a", [CronJob.Create("report", "*/10 * * * * *", log.Body())]).Start();
        await a.LeadsAsync();

        await sim.AdvanceToAsync(65, TimeSpan.FromMilliseconds(250));
        await EventuallyAsync(() => log.Ran(60) && a.Settled.Count(e => e.Outcome == CronTickOutcome.Ran) == 6, "tick 60 ran and settled");

        var term = Assert.Single(a.Started);
        Assert.True(term.Epoch > 0);
        Assert.Equal(Ticks(10, 60, every: 10), log.FireTimes);
        Assert.All(log.Runs, r => Assert.Equal(new CronJobContext("report", r.Context.FireTime, term.Epoch, "replica-a", IsCatchUp: false), r.Context));
        Assert.All(log.Runs, r => Assert.True(r.Started >= r.Context.FireTime, $"tick {r} ran before it was due"));
        Assert.All(a.Settled, e =>
        {
            Assert.Equal(CronTickOutcome.Ran, e.Outcome);
            Assert.Equal("report", e.JobName);
            Assert.Equal("replica-a", e.ReplicaId);
            Assert.Equal(term.Epoch, e.Epoch);
            Assert.False(e.IsCatchUp);
            Assert.Null(e.Exception);
        });
        Assert.Equal(Ticks(10, 60, every: 10), a.Settled.Select(e => e.FireTime));
        Assert.True(a.Elector.IsLeader);
        Assert.Equal("replica-a", a.Elector.ObservedLeader);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Replicas_on_the_same_nodes_run_every_tick_exactly_once(int replicas)
    {
        await using var sim = new SimulatedCluster(3);
        var log = new JobLog(sim.Time);
        var job = CronJob.Create("report", "*/10 * * * * *", log.Body());
        var all = Enumerable.Range(0, replicas).Select(i => SimReplica.Cron(sim, $"replica-{i}", [job]).Start()).ToList();
        try
        {
            await EventuallyAsync(() => all.Count(r => r.Elector.IsLeader) == 1 && all.Any(r => r.IsScheduling), "one replica leads");

            await sim.AdvanceToAsync(125, TimeSpan.FromMilliseconds(250));
            await EventuallyAsync(() => log.Ran(120), "tick 120 ran");

            Assert.Equal(Ticks(10, 120, every: 10), log.FireTimes.Order());
            var leader = Assert.Single(all, r => !r.Started.IsEmpty);
            Assert.All(log.Runs, r => Assert.Equal(leader.Name, r.Context.ReplicaId));
            Assert.All(all.Where(r => r != leader), r => Assert.Empty(r.Settled)); // standbys never even claim
        }
        finally
        {
            foreach (var replica in all)
            {
                await replica.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Overlap_Skip_reports_ticks_that_come_during_a_run_and_never_runs_two_at_once()
    {
        await using var sim = new SimulatedCluster(3);
        var log = new JobLog(sim.Time);
        var job = CronJob.Create("slow", "* * * * * *", log.Body(TimeSpan.FromSeconds(2.5)));
        await using var a = SimReplica.Cron(sim, "replica-a", [job]).Start();
        await a.LeadsAsync();

        await sim.AdvanceToAsync(12.6);
        await EventuallyAsync(() => a.Settled.Count(e => e.FireTime <= At(10)) == 10, "ticks 1 to 10 settled");

        Assert.Equal(1, log.MostAtOnce);
        var settled = a.Settled.Where(e => e.FireTime <= At(10)).ToList();
        Assert.Equal(Ticks(1, 10), settled.Select(e => e.FireTime).Order());
        Assert.All(settled, e => Assert.Contains(e.Outcome, new[] { CronTickOutcome.Ran, CronTickOutcome.SkippedOverlap }));
        var skipped = settled.Where(e => e.Outcome == CronTickOutcome.SkippedOverlap).Select(e => e.FireTime).ToList();
        Assert.True(skipped.Count >= 4, $"only {skipped.Count} skipped");
        Assert.Empty(log.FireTimes.Intersect(skipped));
        Assert.Equal(settled.Where(e => e.Outcome == CronTickOutcome.Ran).Select(e => e.FireTime).Order(), log.FireTimes.Where(t => t <= At(10)));
        var runs = log.Runs.OrderBy(r => r.Started).ToList();
        for (var i = 1; i < runs.Count; i++)
        {
            Assert.True(runs[i].Started >= runs[i - 1].Ended, $"{runs[i]} started before {runs[i - 1]} ended");
        }

        Assert.All(settled.Where(e => e.Outcome == CronTickOutcome.SkippedOverlap), e => Assert.Contains("still going", e.Detail, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Overlap_Queue_runs_each_tick_after_the_previous_run_ends_in_order()
    {
        await using var sim = new SimulatedCluster(3);
        var log = new JobLog(sim.Time);
        var job = CronJob.Create("slow", "* * * * * *", log.Body(TimeSpan.FromSeconds(1.5)), options: new CronJobOptions { Overlap = CronOverlap.Queue });
        await using var a = SimReplica.Cron(sim, "replica-a", [job]).Start();
        await a.LeadsAsync();

        await sim.AdvanceToAsync(9);
        await EventuallyAsync(() => a.Settled.Count(e => e.Outcome == CronTickOutcome.Ran) >= 5, "five runs");

        Assert.Equal(1, log.MostAtOnce);
        Assert.DoesNotContain(a.Settled, e => e.Outcome == CronTickOutcome.SkippedOverlap);
        var runs = log.Runs.ToList();
        Assert.Equal(Ticks(1, runs.Count), runs.Select(r => r.Context.FireTime)); // every tick, in order
        for (var i = 1; i < runs.Count; i++)
        {
            Assert.True(runs[i].Started >= runs[i - 1].Ended, $"{runs[i]} started before {runs[i - 1]} ended");
        }

        Assert.True(runs[^1].Started - runs[^1].Context.FireTime >= TimeSpan.FromSeconds(1), "the queue did not build up");
    }

    [Fact]
    public async Task A_throwing_job_is_reported_Failed_and_the_next_tick_runs()
    {
        await using var sim = new SimulatedCluster(3);
        var log = new JobLog(sim.Time);
        var body = log.Body();
        var job = CronJob.Create("flaky", "* * * * * *", async (ctx, ct) =>
        {
            await body(ctx, ct);
            if (ctx.FireTime == At(2))
            {
                throw new InvalidOperationException("tick 2 breaks");
            }
        });
        await using var a = SimReplica.Cron(sim, "replica-a", [job]).Start();
        await a.LeadsAsync();

        await sim.AdvanceToAsync(4.5);
        await EventuallyAsync(() => a.Settled.Count == 4, "ticks 1 to 4 settled");

        var outcomes = a.Settled.OrderBy(e => e.FireTime).Select(e => e.Outcome);
        Assert.Equal([CronTickOutcome.Ran, CronTickOutcome.Failed, CronTickOutcome.Ran, CronTickOutcome.Ran], outcomes);
        var failed = Assert.Single(a.Settled, e => e.Outcome == CronTickOutcome.Failed);
        Assert.IsType<InvalidOperationException>(failed.Exception);
        Assert.Contains("tick 2 breaks", failed.Detail, StringComparison.Ordinal);
        Assert.True(a.Elector.IsLeader);
        Assert.Equal(Ticks(1, 4), log.FireTimes);
    }

    [Fact]
    public async Task With_a_retry_pipeline_a_failing_run_is_retried()
    {
        await using var sim = new SimulatedCluster(3);
        var attempts = new System.Collections.Concurrent.ConcurrentDictionary<DateTimeOffset, int>();
        var retry = new ResiliencePipelineBuilder { TimeProvider = sim.Time }
            .AddRetry(new RetryStrategyOptions { MaxRetryAttempts = 2, Delay = TimeSpan.Zero, ShouldHandle = new PredicateBuilder().Handle<InvalidOperationException>() })
            .Build();
        // tick 2 fails twice then succeeds; tick 3 always fails
        var job = CronJob.Create("flaky", "* * * * * *", (ctx, _) =>
        {
            var attempt = attempts.AddOrUpdate(ctx.FireTime, 1, (_, n) => n + 1);
            return (ctx.FireTime == At(2) && attempt < 3) || ctx.FireTime == At(3)
                ? throw new InvalidOperationException($"attempt {attempt} breaks")
                : Task.CompletedTask;
        }, options: new CronJobOptions { Retry = retry });
        await using var a = SimReplica.Cron(sim, "replica-a", [job]).Start();
        await a.LeadsAsync();

        await sim.AdvanceToAsync(4.5);
        await EventuallyAsync(() => a.Settled.Count == 4, "ticks 1 to 4 settled");

        Assert.Equal([CronTickOutcome.Ran, CronTickOutcome.Ran, CronTickOutcome.Failed, CronTickOutcome.Ran], a.Settled.OrderBy(e => e.FireTime).Select(e => e.Outcome));
        Assert.Equal(1, attempts[At(1)]);
        Assert.Equal(3, attempts[At(2)]);
        Assert.Equal(3, attempts[At(3)]); // one try and two retries
        Assert.Equal(1, attempts[At(4)]);
        Assert.Contains("attempt 3 breaks", Assert.Single(a.Settled, e => e.Outcome == CronTickOutcome.Failed).Detail, StringComparison.Ordinal);
    }
}
