using RedLockNet.Hosting.Timing;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>Hosting's one source of random pauses: the campaign spread and the job-loop restart back-off.</summary>
public sealed class JitterTests
{
    [Fact]
    public void A_stretched_period_is_at_least_the_period_and_under_the_spread()
    {
        var period = TimeSpan.FromSeconds(2);
        for (var i = 0; i < 1000; i++)
        {
            var pause = Jitter.Stretch(period, 0.2);
            Assert.InRange(pause, period, TimeSpan.FromSeconds(2.4) - TimeSpan.FromTicks(1));
        }
    }

    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 4)]
    [InlineData(5, 5)]
    [InlineData(60, 5)]
    public void The_back_off_ceiling_doubles_to_the_longest_and_the_pause_is_in_its_upper_half(int failures, double ceilingSeconds)
    {
        var ceiling = TimeSpan.FromSeconds(ceilingSeconds);
        for (var i = 0; i < 1000; i++)
        {
            var pause = Jitter.Backoff(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(5), failures);
            Assert.InRange(pause, ceiling / 2, ceiling);
        }
    }
}
