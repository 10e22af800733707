namespace RedLockNet;

/// <summary>
/// A lock factory that also keeps small records next to its locks, with the clock and the validity rules its locks
/// follow: what coordination built on locks needs (idempotent processing).
/// <see cref="RedLockFactory"/> implements it; RedLockNet.Hosting hands one out from the container that connects on
/// first use, so a processor can be built before the nodes are reached.
/// </summary>
public interface ILockFactoryWithRecords : IDistributedLockFactory
{
    /// <summary>Records kept next to locks (completion records, leader records, claimed ticks).</summary>
    ILockRecords Records { get; }

    /// <summary>The clock every timing decision of the locks uses.</summary>
    TimeProvider TimeProvider { get; }

    /// <summary>
    /// The validity arithmetic of locks with <paramref name="expiry"/> (drift, minimum validity, lost-token margin),
    /// checked to be usable.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The expiry is not usable; names <paramref name="paramName"/>.</exception>
    LockTiming TimingFor(TimeSpan expiry, string paramName = "expiry");
}
