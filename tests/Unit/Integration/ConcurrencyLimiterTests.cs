using System.Threading.RateLimiting;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>The distributed concurrency limiter (a RateLimiter over the semaphore) on real nodes.</summary>
public abstract class ConcurrencyLimiterTests(ClusterFixture nodes) : FixtureTest(nodes)
{
    [Fact]
    public async Task Three_replicas_limiters_hold_at_most_the_permit_limit_together_and_serve_every_caller()
    {
        var resource = Clusters.UniqueResource("limit");
        await using var replicas = await ClientFactories.ConnectAsync(Nodes.Endpoints, 3);
        var limiters = Enumerable.Range(0, 3).Select(i => new DistributedConcurrencyLimiter(replicas[i], new DistributedConcurrencyLimiterOptions { Resource = resource, PermitLimit = 2, QueueLimit = 10 })).ToList();
        var inside = 0;
        var most = 0;
        var leases = 0;
        var callers = Enumerable.Range(0, 12).Select(async caller =>
        {
            for (var round = 0; round < 3; round++)
            {
                using var lease = await limiters[caller % 3].AcquireAsync(1, Clusters.Bound());
                Assert.True(lease.IsAcquired);
                ClientFactories.RaiseTo(ref most, Interlocked.Increment(ref inside));
                await Task.Delay(30, Clusters.Bound());
                Interlocked.Decrement(ref inside);
                Interlocked.Increment(ref leases);
            }
        });
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(90), Clusters.Bound());

        Assert.Equal(2, most);
        Assert.Equal(36, leases);
        Assert.All(limiters, l => Assert.Equal(0, l.GetStatistics()!.CurrentQueuedCount));
        Assert.Equal(36, limiters.Sum(l => l.GetStatistics()!.TotalSuccessfulLeases));
        foreach (var limiter in limiters)
        {
            await limiter.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_no_queue_a_full_limiter_refuses_at_once_and_a_disposed_lease_frees_its_permit()
    {
        var resource = Clusters.UniqueResource("no-queue");
        await using var limiter = new DistributedConcurrencyLimiter(Locks, new DistributedConcurrencyLimiterOptions { Resource = resource, PermitLimit = 1 });
        Assert.False(limiter.AttemptAcquire().IsAcquired); // a synchronous attempt cannot ask the nodes
        var held = await limiter.AcquireAsync(1, Clusters.Bound());
        Assert.True(held.IsAcquired);
        Assert.Null(limiter.IdleDuration);

        using (var refused = await limiter.AcquireAsync(1, Clusters.Bound()))
        {
            Assert.False(refused.IsAcquired);
        }

        held.Dispose();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        RateLimitLease next;
        while (!(next = await limiter.AcquireAsync(1, Clusters.Bound())).IsAcquired && waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20, Clusters.Bound()); // the release runs on after Dispose returns
        }

        Assert.True(next.IsAcquired);
        next.Dispose();
        Assert.True(limiter.GetStatistics()!.TotalFailedLeases >= 2); // the synchronous attempt and the refusal
    }

    [Fact]
    public async Task A_queued_caller_that_cancels_leaves_the_queue_and_others_are_served_in_order()
    {
        var resource = Clusters.UniqueResource("queued");
        await using var limiter = new DistributedConcurrencyLimiter(Locks, new DistributedConcurrencyLimiterOptions { Resource = resource, PermitLimit = 1, QueueLimit = 2 });
        var held = await limiter.AcquireAsync(1, Clusters.Bound());
        using var cancel = new CancellationTokenSource();
        var gaveUp = limiter.AcquireAsync(1, cancel.Token).AsTask();
        var second = limiter.AcquireAsync(1, Clusters.Bound()).AsTask();
        await WaitForAsync(() => limiter.GetStatistics()!.CurrentQueuedCount == 2);
        using (var third = await limiter.AcquireAsync(1, Clusters.Bound()))
        {
            Assert.False(third.IsAcquired); // the queue is full
        }

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gaveUp);
        Assert.Equal(1, limiter.GetStatistics()!.CurrentQueuedCount);
        held.Dispose();
        using var served = await second.WaitAsync(TimeSpan.FromSeconds(10), Clusters.Bound());
        Assert.True(served.IsAcquired);
    }

    [Fact]
    public void Bad_options_name_the_setting()
    {
        DistributedConcurrencyLimiterOptions Options(int limit = 2, int queue = 0, string resource = "r") => new() { Resource = resource, PermitLimit = limit, QueueLimit = queue };
        Assert.Equal("options.PermitLimit", Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedConcurrencyLimiter(Locks, Options(limit: 0))).ParamName);
        Assert.Equal("options.PermitLimit", Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedConcurrencyLimiter(Locks, Options(limit: 5000))).ParamName);
        Assert.Equal("options.QueueLimit", Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedConcurrencyLimiter(Locks, Options(queue: -1))).ParamName);
        Assert.Equal("options.Resource", Assert.Throws<ArgumentException>(() => new DistributedConcurrencyLimiter(Locks, Options(resource: " "))).ParamName);
        using var limiter = new DistributedConcurrencyLimiter(Locks, Options());
        Assert.Equal("permitCount", Assert.Throws<ArgumentOutOfRangeException>(() => limiter.AttemptAcquire(2)).ParamName);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10, Clusters.Bound());
        }

        Assert.True(condition());
    }
}

public sealed class ConcurrencyLimiterOnThreeNodes(ThreeNodes nodes) : ConcurrencyLimiterTests(nodes), IClassFixture<ThreeNodes>;
