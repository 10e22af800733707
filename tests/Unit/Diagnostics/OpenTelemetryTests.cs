using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using RedLockNet.Diagnostics;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.Election;
using RedLockNet.Tests.Unit.Integration;
using static RedLockNet.Tests.Unit.Hosting.Replicas;

namespace RedLockNet.Tests.Unit.Diagnostics;

/// <summary>
/// <c>AddRedLockInstrumentation()</c> with the OpenTelemetry SDK and its in-memory exporters, on real nodes. Other tests
/// run meanwhile on the same static source and meter, so spans are picked by their resource, group or job name.
/// </summary>
public sealed class OpenTelemetryTests(ThreeNodes nodes, ITestOutputHelper output) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    [Fact]
    public async Task Acquire_extend_release_and_a_contended_try_give_spans_with_outcome_and_votes_and_metric_points()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddRedLockInstrumentation().AddInMemoryExporter(spans).Build())
        using (var meters = Sdk.CreateMeterProviderBuilder().AddRedLockInstrumentation().AddInMemoryExporter(metrics).Build())
        {
            var resource = Clusters.UniqueResource("otel");
            var handle = await Locks.AcquireAsync(resource, cancellationToken: Clusters.Bound());
            Assert.Null(await Locks.TryAcquireAsync(resource, cancellationToken: Clusters.Bound()));
            Assert.True(await handle.ExtendAsync(cancellationToken: Clusters.Bound()));
            await handle.ReleaseAsync(Clusters.Bound());
            await handle.DisposeAsync(); // a second release sends nothing and records no span

            tracing.ForceFlush();
            meters.ForceFlush();
            var ours = spans.Where(s => Equals(s.GetTagItem(RedLockTags.Resource), resource)).ToList();
            foreach (var span in ours)
            {
                output.WriteLine($"{span.OperationName} {span.Kind} {string.Join(", ", span.TagObjects.Select(t => $"{t.Key}={t.Value}"))}");
            }

            Assert.Equal(["redlock.acquire", "redlock.acquire", "redlock.extend", "redlock.release"], ours.Select(s => s.OperationName));
            Assert.All(ours, s => Assert.Equal(ActivityKind.Client, s.Kind));
            Assert.All(ours, s => Assert.Equal("RedLockNet", s.Source.Name));

            var (acquired, contended, extended, released) = (ours[0], ours[1], ours[2], ours[3]);
            Assert.Equal("acquired", acquired.GetTagItem(RedLockTags.Outcome));
            Assert.InRange((int)acquired.GetTagItem(RedLockTags.VotesGranted)!, 2, 3);
            Assert.Equal("contended", contended.GetTagItem(RedLockTags.Outcome));
            Assert.InRange((int)contended.GetTagItem(RedLockTags.VotesDenied)!, 2, 3);
            Assert.Equal("extended", extended.GetTagItem(RedLockTags.Outcome));
            Assert.InRange((int)extended.GetTagItem(RedLockTags.VotesGranted)!, 2, 3);
            Assert.Equal("released", released.GetTagItem(RedLockTags.Outcome));
            Assert.InRange((int)released.GetTagItem(RedLockTags.VotesGranted)!, 2, 3);
            Assert.All(ours, s => Assert.InRange(Assert.IsType<int>(s.GetTagItem(RedLockTags.VotesFailed)), 0, 1)); // a loaded machine may time one node out

            Assert.True(Sum(metrics, "redlock.acquire.attempts", (RedLockTags.Outcome, "acquired")) >= 1);
            Assert.True(Sum(metrics, "redlock.acquire.attempts", (RedLockTags.Outcome, "contended")) >= 1);
            Assert.True(HistogramCount(metrics, "redlock.acquire.duration", (RedLockTags.Outcome, "acquired")) >= 1);
            Assert.Contains(metrics, m => m.Name == "redlock.leases.active");
        }
    }

    [Fact]
    public async Task A_leader_term_and_a_cron_tick_give_spans_with_group_job_epoch_and_outcome()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddRedLockInstrumentation().AddInMemoryExporter(spans).Build();
        using var meters = Sdk.CreateMeterProviderBuilder().AddRedLockInstrumentation().AddInMemoryExporter(metrics).Build();
        var election = Election("otel-cron");
        var job = Clusters.UniqueResource("otel-job");
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runner = new CronRunner(
            Locks,
            [CronJob.Create(job, "* * * * * *", (_, _) =>
            {
                ran.TrySetResult();
                return Task.CompletedTask;
            })],
            new CronRunnerOptions { Election = election });
        using var stop = new CancellationTokenSource();
        var running = runner.RunAsync(stop.Token);
        await ran.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        tracing.ForceFlush();
        meters.ForceFlush();
        // a loaded machine can end a term by its renew deadline and start another: pick the one the tick ran in
        var terms = spans.Where(s => s.OperationName == "redlock.leader.term" && Equals(s.GetTagItem(RedLockTags.Group), election.Group)).ToList();
        var tick = spans.First(s => s.OperationName == "redlock.cron.tick" && Equals(s.GetTagItem(RedLockTags.Job), job) && Equals(s.GetTagItem(RedLockTags.Outcome), "Ran"));
        var term = Assert.Single(terms, t => Equals(t.GetTagItem(RedLockTags.Epoch), tick.GetTagItem(RedLockTags.Epoch)));
        foreach (var span in new[] { term, tick })
        {
            output.WriteLine($"{span.OperationName} {span.Kind} {span.Duration.TotalMilliseconds:0} ms {string.Join(", ", span.TagObjects.Select(t => $"{t.Key}={t.Value}"))}");
        }

        // why each term ended: Stopped here, unless the machine was slow enough to miss a renew deadline first
        Assert.All(terms, t => Assert.Contains((string)t.GetTagItem(RedLockTags.Event)!, Enum.GetNames<LeadershipEndReason>()));
        Assert.Equal(runner.Elector.Identity, term.GetTagItem(RedLockTags.Identity));
        Assert.True(Assert.IsType<long>(term.GetTagItem(RedLockTags.Epoch)) > 0);
        Assert.IsType<string>(tick.GetTagItem(RedLockTags.FireTime));
        Assert.Equal(default, tick.ParentSpanId); // the long term span is not the ambient parent of the work done while leading

        Assert.Equal(terms.Count, Sum(metrics, "redlock.leader.terms", (RedLockTags.Group, election.Group), (RedLockTags.Event, "started")));
        Assert.True(Sum(metrics, "redlock.cron.ticks", (RedLockTags.Job, job), (RedLockTags.Outcome, "Ran")) >= 1);
    }

    private static long Sum(List<Metric> metrics, string name, params (string Key, object Value)[] tags) => Total(metrics, name, histogram: false, tags);

    private static long HistogramCount(List<Metric> metrics, string name, params (string Key, object Value)[] tags) => Total(metrics, name, histogram: true, tags);

    /// <summary>The sum of a counter's points (or the count of a histogram's) whose tags include <paramref name="tags"/>.</summary>
    private static long Total(List<Metric> metrics, string name, bool histogram, (string Key, object Value)[] tags)
    {
        long total = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (Matches(point, tags))
                {
                    total += histogram ? point.GetHistogramCount() : point.GetSumLong();
                }
            }
        }

        return total;
    }

    private static bool Matches(in MetricPoint point, (string Key, object Value)[] tags)
    {
        var have = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in point.Tags)
        {
            have[tag.Key] = tag.Value;
        }

        return tags.All(t => have.TryGetValue(t.Key, out var value) && Equals(value, t.Value));
    }
}
