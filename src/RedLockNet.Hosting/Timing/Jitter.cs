namespace RedLockNet.Hosting.Timing;

/// <summary>
/// The one place in RedLockNet.Hosting that draws random pauses, so replicas (and the job loops of one replica) that
/// start or fail together spread out instead of acting in step. Thread-safe.
/// </summary>
internal static class Jitter
{
    /// <summary><paramref name="period"/> stretched by a random factor in [1, 1 + <paramref name="spread"/>).</summary>
    public static TimeSpan Stretch(TimeSpan period, double spread) =>
        period + TimeSpan.FromTicks((long)(period.Ticks * spread * Sample()));

    /// <summary>
    /// The pause after the <paramref name="failures"/>-th failure in a row (1 for the first): its ceiling doubles from
    /// <paramref name="first"/> per failure up to <paramref name="longest"/>, and the pause is uniform in
    /// [ceiling / 2, ceiling], so it always grows and never runs in step.
    /// </summary>
    public static TimeSpan Backoff(TimeSpan first, TimeSpan longest, int failures)
    {
        var ceiling = Math.Min(longest.Ticks, first.Ticks * Math.Pow(2, Math.Clamp(failures - 1, 0, 30)));
        return TimeSpan.FromTicks((long)(ceiling / 2 * (1 + Sample())));
    }

#pragma warning disable RS0030 // Random.Shared is banned outside this one jitter helper: randomness here is for spreading pauses, never for identity or security
    private static double Sample() => Random.Shared.NextDouble();
#pragma warning restore RS0030
}
