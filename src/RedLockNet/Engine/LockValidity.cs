namespace RedLockNet.Engine;

/// <summary>
/// The validity arithmetic of the Redlock spec for one expiry (and the lost token's safety margin):
/// <c>validity = ttl - elapsed - drift</c>, <c>drift = ttl x factor + constant</c>,
/// and the lock only counts when the validity is at least the minimum.
/// </summary>
internal readonly record struct LockValidity(TimeSpan Ttl, TimeSpan Drift, TimeSpan Minimum, TimeSpan SafetyMargin)
{
    /// <summary>Expiries shorter than this are refused.</summary>
    public static readonly TimeSpan ShortestExpiry = TimeSpan.FromMilliseconds(10);

    public static LockValidity For(TimeSpan ttl, RedLockOptions options)
    {
        var drift = DriftFor(ttl, options);
        var minimum = options.MinValidity ?? TimeSpan.FromTicks(ttl.Ticks / 10);
        var margin = options.LostTokenSafetyMargin ?? Min(TimeSpan.FromTicks(ttl.Ticks / 20), minimum / 2);
        return new LockValidity(ttl, drift, minimum, margin);
    }

    /// <summary>The clock-drift allowance for <paramref name="ttl"/>: <c>ttl x DriftFactor + DriftConstant</c>.</summary>
    public static TimeSpan DriftFor(TimeSpan ttl, RedLockOptions options) =>
        TimeSpan.FromTicks((long)(ttl.Ticks * options.DriftFactor)) + options.DriftConstant;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Longest an acquisition may take and still leave the minimum validity.</summary>
    public TimeSpan Budget => Ttl - Drift - Minimum;

    /// <summary>How long the lock may be relied on once the acquisition took <paramref name="elapsed"/>.</summary>
    public TimeSpan After(TimeSpan elapsed) => Ttl - elapsed - Drift;

    /// <summary>Whether an acquisition that took <paramref name="elapsed"/> leaves enough validity.</summary>
    public bool IsEnoughAfter(TimeSpan elapsed)
    {
        var left = After(elapsed);
        return left > TimeSpan.Zero && left >= Minimum;
    }
}
