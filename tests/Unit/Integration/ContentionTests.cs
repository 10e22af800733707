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
