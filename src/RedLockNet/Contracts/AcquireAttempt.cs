namespace RedLockNet;

/// <summary>What one quorum attempt at a lock came to.</summary>
public enum AcquireOutcome
{
    /// <summary>A majority granted the lock with enough validity left.</summary>
    Acquired,

    /// <summary>Enough nodes answered, but the lock is held by another owner.</summary>
    Contended,

    /// <summary>Too few nodes answered in time (or the answers came too late to leave any validity).</summary>
    QuorumUnavailable,
}

/// <summary>
/// The result of one quorum attempt, as seen by the retry pipeline
/// (<see cref="RedLockOptions.RetryPipeline"/>). A custom pipeline should retry results whose
/// <see cref="Outcome"/> is not <see cref="AcquireOutcome.Acquired"/>.
/// </summary>
public sealed class AcquireAttempt
{
    internal AcquireAttempt(AcquireOutcome outcome, TimeSpan elapsed, IReadOnlyList<NodeFailure> failures, string? detail, LockGrant? grant)
    {
        Outcome = outcome;
        Elapsed = elapsed;
        Failures = failures;
        Detail = detail;
        Grant = grant;
    }

    /// <summary>What the attempt came to.</summary>
    public AcquireOutcome Outcome { get; }

    /// <summary>How long the attempt took, from before the first send.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Nodes that failed during the attempt (empty when all answered).</summary>
    public IReadOnlyList<NodeFailure> Failures { get; }

    internal string? Detail { get; }

    internal LockGrant? Grant { get; }
}

/// <summary>A lock granted by a majority: what a lease is built from.</summary>
/// <param name="Resource">The resource as the caller named it.</param>
/// <param name="Key">The lock key.</param>
/// <param name="LockId">The acquisition's random id.</param>
/// <param name="Timing">The time to live set on the nodes, and its validity arithmetic.</param>
/// <param name="Start">Monotonic timestamp taken before the first send.</param>
/// <param name="ValidUntil">Monotonic timestamp until which the lock may be relied on.</param>
/// <param name="FencingToken">The settled fencing token when one was minted on acquisition, else null.</param>
/// <param name="DecidedAt">Monotonic timestamp at which the validity check passed: the moment the lock was handed out.</param>
internal sealed record LockGrant(string Resource, StackExchange.Redis.RedisKey Key, string LockId, LockTiming Timing, long Start, long ValidUntil, long? FencingToken, long DecidedAt)
{
    /// <summary>The acquire call to each node; some may still be in flight (the vote ended at a majority).</summary>
    public IReadOnlyList<Task<StackExchange.Redis.RedisResult>?> Calls { get; init; } = [];

    /// <summary>
    /// The key whose waiting room this lock's release wakes, without handing anyone the lock (a reader-writer lock's,
    /// where several may get in at once); null for a lock whose release hands it to its room's first waiter.
    /// </summary>
    public StackExchange.Redis.RedisKey? WakeOnRelease { get; init; }
}
