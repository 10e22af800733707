namespace RedLockNet;

/// <summary>Per-call settings of one acquisition; anything left <see langword="null"/> comes from <see cref="RedLockOptions"/>.</summary>
public sealed record LockRequest
{
    /// <summary>Time to live of the lock on each node; at least 10 ms and larger than drift plus the minimum validity.</summary>
    public TimeSpan? Expiry { get; init; }

    /// <summary>
    /// How long to wait while the lock is held by others. <see cref="TimeSpan.Zero"/> makes one attempt;
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits until cancelled.
    /// For <see cref="IDistributedLockFactory.TryAcquireAsync"/> the default is zero.
    /// </summary>
    public TimeSpan? WaitTimeout { get; init; }

    /// <summary>Renew the lock automatically while it is held; default <see cref="RedLockOptions.AutoRenew"/>.</summary>
    public bool? AutoRenew { get; init; }

    /// <summary>Cap on how long renewal keeps the lock alive; default <see cref="RedLockOptions.MaxHoldTime"/>.</summary>
    public TimeSpan? MaxHoldTime { get; init; }

    /// <summary>
    /// Mint the fencing token during acquisition, so <see cref="ILockHandle.FencingToken"/> is set at once; default
    /// <see cref="RedLockOptions.FencingOnAcquire"/>. Ignored when <see cref="RedLockOptions.Fencing"/> is off.
    /// </summary>
    public bool? FencingOnAcquire { get; init; }

    /// <summary>Wait in strict order of arrival across processes; default <see cref="RedLockOptions.FairOrder"/>.</summary>
    public bool? FairOrder { get; init; }

    internal static TimeSpan CheckHoldTime(TimeSpan cap, string paramName)
    {
        if (cap < LockTiming.ShortestExpiry)
        {
            throw new ArgumentOutOfRangeException(paramName, cap, $"The hold-time cap must be at least {LockTiming.ShortestExpiry.TotalMilliseconds:0} ms.");
        }

        return cap;
    }

    internal static TimeSpan CheckWait(TimeSpan wait, string paramName)
    {
        if (wait < TimeSpan.Zero && wait != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(paramName, wait, "The wait timeout must be zero or positive, or Timeout.InfiniteTimeSpan.");
        }

        return wait;
    }
}
