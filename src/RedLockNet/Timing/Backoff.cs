namespace RedLockNet.Timing;

/// <summary>
/// The one place that draws random pauses (and random picks): full-jitter exponential back-off for retries, so contenders spread out
/// instead of retrying in step. Thread-safe.
/// </summary>
internal static class Backoff
{
    /// <summary>A delay uniform in [min, min(max, min x 2^attempt)].</summary>
    public static TimeSpan FullJitter(TimeSpan min, TimeSpan max, int attempt, Random? random = null)
    {
        var ceiling = min.Ticks * Math.Pow(2, Math.Clamp(attempt, 0, 30));
        var upper = Math.Min(max.Ticks, ceiling);
        return TimeSpan.FromTicks(min.Ticks + (long)(Sample(random) * (upper - min.Ticks)));
    }

    /// <summary>A delay uniform in [low, high).</summary>
    public static TimeSpan Between(TimeSpan low, TimeSpan high) =>
        TimeSpan.FromTicks(low.Ticks + (long)(Sample(null) * (high.Ticks - low.Ticks)));

    /// <summary>A uniform pick in [0, <paramref name="count"/>): where concurrent callers should spread out.</summary>
    public static int Pick(int count) => Math.Min(count - 1, (int)(Sample(null) * count));

#pragma warning disable RS0030 // the one jitter helper may use the shared generator
    private static double Sample(Random? random) => (random ?? Random.Shared).NextDouble();
#pragma warning restore RS0030
}
