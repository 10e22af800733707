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
        var (served, overlaps) = await ContentionRun.RunAsync(resource, _ => Locks, TimeSpan.FromSeconds(3));
        var fair = served.Sum() / 8.0;
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
