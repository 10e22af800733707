using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.DependencyInjection;
using RedLockNet.Hosting.Election;
using RedLockNet.Tests.Unit.Integration;
using static RedLockNet.Tests.Unit.Hosting.Replicas;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>
/// Replicas of a service, each with its own connections, sharing a per-second job on real server processes; and
/// the same through the generic host. Every test uses its own election group, so they can share the nodes.
/// </summary>
public sealed class CronOnNodesTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    [Fact]
    public async Task Three_replicas_run_every_tick_of_a_per_second_job_exactly_once()
    {
        var ledger = new RunLedger();
        var replicas = await StartAsync(Nodes.Endpoints, Election("cron-once"), ledger);
        try
        {
            Assert.True(await UntilAsync(() => replicas.Any(r => r.IsLeader), TimeSpan.FromSeconds(15)), "no replica became leader");
            var first = NextWholeSecond(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1));
            var window = Enumerable.Range(0, 22).Select(i => first.AddSeconds(i)).ToList();
            var ranAll = await UntilAsync(() => ledger.Ran(window[^1]), window[^1] - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(8));
            foreach (var replica in replicas)
            {
                await replica.StopAsync();
            }

            Report(ledger, replicas);
            Assert.True(ranAll, $"tick {window[^1]:HH:mm:ss} never ran");
            Assert.Empty(ledger.Twice());
            Assert.All(window, tick => Assert.True(ledger.Runs.TryGetValue(tick, out var runs) && runs.Count == 1, $"tick {tick:HH:mm:ss} ran {(ledger.Runs.TryGetValue(tick, out var r) ? r.Count : 0)} times"));
            Assert.All(replicas, r => Assert.DoesNotContain(r.Settled, e => e.Outcome is CronTickOutcome.Failed or CronTickOutcome.SkippedOverlap));
        }
        finally
        {
            await DisposeAllAsync(replicas);
        }
    }

    [Fact]
    public async Task AddRedLock_AddCronJob_runs_the_job_in_a_host_and_StopAsync_releases_leadership()
    {
        var group = Clusters.UniqueResource("cron-di");
        var sink = new JobSink();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(sink);
        builder.Services
            .AddRedLock(o =>
            {
                foreach (var endpoint in Nodes.Endpoints)
                {
                    o.Nodes.Add(endpoint);
                }

                o.NodeTimeout = TimeSpan.FromMilliseconds(500);
            })
            .ConfigureCron(c => c.Election = new LeaderElectionOptions
            {
                Group = group,
                Identity = "host-a",
                LeaseDuration = Lease,
                RenewDeadline = RenewDeadline,
                RetryPeriod = Retry,
            })
            .AddCronJob<CountingJob>("* * * * * *");
        var host = builder.Build();
        try
        {
            await host.StartAsync(Clusters.Bound());
            Assert.True(await UntilAsync(() => sink.Runs.Count >= 2, TimeSpan.FromSeconds(15)), "the job did not run twice");
            await Probe.EventuallyAsync(group, v => v is not null); // the leader's lock
            await using (var handle = await host.Services.GetRequiredService<IDistributedLockFactory>().AcquireAsync(Clusters.UniqueResource("di-lock"), cancellationToken: Clusters.Bound()))
            {
                Assert.True(await handle.GetFencingTokenAsync(Clusters.Bound()) > 0);
            }

            await host.StopAsync(Clusters.Bound());
            await Probe.EventuallyAsync(group, v => v is null); // released on a majority at return, on the rest moments later // released, not left to expire
            var runs = sink.Runs.Count;
            await Task.Delay(1500, TestContext.Current.CancellationToken);
            Assert.Equal(runs, sink.Runs.Count);

            Assert.All(sink.Runs, r =>
            {
                Assert.Equal(typeof(CountingJob).FullName, r.Context.JobName);
                Assert.Equal("host-a", r.Context.ReplicaId);
                Assert.True(r.Context.Epoch > 0);
            });
            Assert.Equal(sink.Runs.Count, sink.Runs.Select(r => r.Job).Distinct().Count()); // a new scope, and job, per tick
            Assert.Equal(sink.Runs.Count, sink.Runs.Select(r => r.Context.FireTime).Distinct().Count());
        }
        finally
        {
            await ((IAsyncDisposable)host).DisposeAsync();
        }
    }

    /// <summary>Records the runs of <see cref="CountingJob"/>.</summary>
    public sealed class JobSink
    {
        public ConcurrentQueue<(CronJobContext Context, CountingJob Job)> Runs { get; } = new();
    }

    /// <summary>A job resolved from the container, one per tick.</summary>
    public sealed class CountingJob(JobSink sink) : ICronJob
    {
        public Task RunAsync(CronJobContext context, CancellationToken cancellationToken)
        {
            sink.Runs.Enqueue((context, this));
            return Task.CompletedTask;
        }
    }
}
