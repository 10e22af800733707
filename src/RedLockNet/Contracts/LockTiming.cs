using RedLockNet.Timing;

namespace RedLockNet;

/// <summary>
/// The validity arithmetic of the Redlock spec for one lock expiry under one set of options:
/// <c>validity = expiry - elapsed - drift</c>, <c>drift = expiry x DriftFactor + DriftConstant</c>; an acquisition
/// counts only when it leaves at least <see cref="MinValidity"/>. Get one from
/// <see cref="RedLockFactory.TimingFor(TimeSpan, string)"/>, which also checks that the expiry is usable.
/// </summary>
public readonly record struct LockTiming
{
    /// <summary>Expiries shorter than this are refused.</summary>
    public static readonly TimeSpan ShortestExpiry = TimeSpan.FromMilliseconds(10);

    private LockTiming(TimeSpan expiry, TimeSpan drift, TimeSpan minValidity, TimeSpan safetyMargin)
    {
        Expiry = expiry;
        Drift = drift;
        MinValidity = minValidity;
        SafetyMargin = safetyMargin;
    }

    /// <summary>The lock's time to live on each node.</summary>
    public TimeSpan Expiry { get; }

    /// <summary>The clock-drift allowance subtracted from every validity.</summary>
    public TimeSpan Drift { get; }

    /// <summary>The least validity an acquisition must leave to count.</summary>
    public TimeSpan MinValidity { get; }

    /// <summary>How long before the validity deadline the lost token fires.</summary>
    public TimeSpan SafetyMargin { get; }

    /// <summary>The longest an acquisition may take and still leave <see cref="MinValidity"/>.</summary>
    public TimeSpan AcquireBudget => Expiry - Drift - MinValidity;

    /// <summary>How long the lock may be relied on once an acquisition (or renewal) took <paramref name="elapsed"/>.</summary>
    public TimeSpan ValidityAfter(TimeSpan elapsed) => Expiry - elapsed - Drift;

    /// <summary>Whether an acquisition that took <paramref name="elapsed"/> leaves enough validity.</summary>
    public bool IsEnoughAfter(TimeSpan elapsed)
    {
        var left = ValidityAfter(elapsed);
        return left > TimeSpan.Zero && left >= MinValidity;
    }

    /// <summary>
    /// The validity deadline of an acquisition or renewal with this expiry that started (before its first send) at
    /// monotonic timestamp <paramref name="start"/>: the expiry less the drift allowance.
    /// </summary>
    internal long DeadlineFrom(long start, TimeProvider time) => start + time.ToTimestampTicks(Expiry - Drift);

    /// <summary>The timing of <paramref name="expiry"/> under <paramref name="options"/>, whether or not it is usable.</summary>
    internal static LockTiming For(TimeSpan expiry, RedLockOptions options)
    {
        var drift = DriftFor(expiry, options);
        var minimum = options.MinValidity ?? TimeSpan.FromTicks(expiry.Ticks / 10);
        var margin = options.LostTokenSafetyMargin ?? Min(TimeSpan.FromTicks(expiry.Ticks / 20), minimum / 2);
        return new LockTiming(expiry, drift, minimum, margin);
    }

    /// <summary>The timing of <paramref name="expiry"/>; throws, naming <paramref name="paramName"/>, when the expiry is unusable.</summary>
    internal static LockTiming Checked(TimeSpan expiry, RedLockOptions options, string paramName)
    {
        if (expiry < ShortestExpiry)
        {
            throw new ArgumentOutOfRangeException(paramName, expiry, $"The expiry must be at least {ShortestExpiry.TotalMilliseconds:0} ms.");
        }

        if (expiry.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, expiry, "The expiry must be at most int.MaxValue milliseconds (about 24.8 days).");
        }

        var timing = For(expiry, options);
        if (timing.AcquireBudget <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, expiry,
                $"The expiry must be larger than the drift allowance ({timing.Drift.TotalMilliseconds:0.###} ms) plus the minimum validity ({timing.MinValidity.TotalMilliseconds:0.###} ms).");
        }

        if (timing.SafetyMargin > timing.MinValidity)
        {
            throw new ArgumentOutOfRangeException(paramName, expiry,
                $"The lost token's safety margin ({timing.SafetyMargin.TotalMilliseconds:0.###} ms) must not exceed the minimum validity ({timing.MinValidity.TotalMilliseconds:0.###} ms) for this expiry.");
        }

        return timing;
    }

    /// <summary>The clock-drift allowance for <paramref name="expiry"/>: <c>expiry x DriftFactor + DriftConstant</c>.</summary>
    internal static TimeSpan DriftFor(TimeSpan expiry, RedLockOptions options) =>
        TimeSpan.FromTicks((long)(expiry.Ticks * options.DriftFactor)) + options.DriftConstant;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
