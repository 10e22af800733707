namespace RedLockNet.Tests.Unit.Integration;

/// <summary>
/// Callers of one factory waiting for one resource are served in line: nobody starves, the caller that just released
/// does not barge ahead, and the line never lets two hold at once.
/// </summary>
public sealed class ContentionTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    [Fact]
    public async Task Eight_callers_on_one_key_are_each_served_about_a_fair_share()
    {
        var resource = Clusters.UniqueResource("contended");
        var request = new LockRequest { Expiry = TimeSpan.FromSeconds(10), WaitTimeout = TimeSpan.FromSeconds(20) };
        var served = new int[8];
        var holders = 0;
        var overlaps = 0;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; i < 10_000 && DateTime.UtcNow < until; i++)
            {
                await using var handle = await Locks.AcquireAsync(resource, request, Clusters.Bound(60));
                if (Interlocked.Increment(ref holders) > 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                served[caller]++;
                await Task.Delay(1, TestContext.Current.CancellationToken);
                Interlocked.Decrement(ref holders);
            }
        })));

        var fair = served.Sum() / 8.0;
        TestContext.Current.TestOutputHelper?.WriteLine($"served: {string.Join(", ", served)}; least {served.Min() / fair:P0} of a fair share");
        Assert.Equal(0, overlaps);
        Assert.True(served.Sum() >= 40, $"only {served.Sum()} acquisitions in 3 s");
        // in line, callers take turns: the least served is close to a fair share (the default back-off alone gave 0-50 %)
        Assert.True(served.Min() >= 0.7 * fair, $"least served {served.Min()} of a fair {fair:0.#}: {string.Join(", ", served)}");
    }

    [Fact]
    public async Task A_caller_whose_wait_ends_before_its_turn_gets_a_timeout_and_leaves_the_line()
    {
        var resource = Clusters.UniqueResource("line-timeout");
        await using var holder = await Locks.AcquireAsync(resource, Clusters.Bound());
        var first = Locks.AcquireAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(3) }, Clusters.Bound());
        var second = Locks.AcquireAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromMilliseconds(300) }, Clusters.Bound());
        await Assert.ThrowsAsync<LockTimeoutException>(() => second);
        await holder.ReleaseAsync(Clusters.Bound());
        await using var got = await first; // woken by the release, well inside its wait
        Assert.Equal(resource, got.Resource);
    }
}

/// <summary>A release by another process wakes a waiter through the nodes' release notices, long before its back-off ends.</summary>
public sealed class CrossProcessWakeTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    [Fact]
    public async Task A_waiter_in_another_factory_is_woken_by_the_release_not_by_its_back_off()
    {
        var resource = Clusters.UniqueResource("wake");
        // the waiter's back-off is 5 s: only a release notice can get it the lock sooner
        await using var other = await RedLockFactory.ConnectAsync(
            Clusters.Options(Nodes.Endpoints, o => { o.MinRetryDelay = TimeSpan.FromSeconds(5); o.MaxRetryDelay = TimeSpan.FromSeconds(5); }), Clusters.Bound());
        var holder = await Locks.AcquireAsync(resource, Clusters.Bound());
        var waiting = other.AcquireAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(20) }, Clusters.Bound());
        await Task.Delay(500, TestContext.Current.CancellationToken); // the waiter has tried once and sleeps

        var released = System.Diagnostics.Stopwatch.StartNew();
        await holder.ReleaseAsync(Clusters.Bound());
        await using var got = await waiting;
        TestContext.Current.TestOutputHelper?.WriteLine($"acquired {released.ElapsedMilliseconds} ms after the release");
        Assert.True(released.Elapsed < TimeSpan.FromSeconds(2.5), $"acquired {released.ElapsedMilliseconds} ms after the release: woken by the back-off, not the notice");
    }
}
