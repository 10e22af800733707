namespace RedLockNet;

/// <summary>
/// Small records kept next to a lock on every node, for coordination built on top of locks (a leader record, a
/// completion record, a claimed tick). A write lands on a node only while that node still holds the writer's lock
/// (and, when fenced, while the node's fencing counter has not passed the writer's token), and counts once a majority
/// confirmed it. Records share the lock's hash slot.
/// </summary>
public interface ILockRecords
{
    /// <summary>
    /// Reads record <paramref name="name"/> of <paramref name="resource"/> from every node (each bounded by the node
    /// timeout). <paramref name="retention"/> is how long the record is kept (as it was written): a node known to have
    /// lost its data less than that long ago may have forgotten it, so it does not answer (a failure, kind
    /// <see cref="NodeFailureKind.Quarantined"/>) rather than answer "none".
    /// </summary>
    /// <exception cref="ArgumentException">The resource or the name breaks a rule.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="retention"/> is below 1 ms.</exception>
    Task<LockRecordRead> ReadAsync(string resource, string name, TimeSpan retention, CancellationToken cancellationToken = default);

    /// <summary>Writes <paramref name="value"/> as record <paramref name="name"/> next to <paramref name="holder"/>'s lock, while it holds it.</summary>
    /// <exception cref="ArgumentException">The name, value or options break a rule.</exception>
    Task<LockRecordWrite> WriteAsync(ILockHandle holder, string name, string value, LockRecordWriteOptions options, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims a numbered slot once across holders: writes <see cref="LockRecordClaim.Value"/> as record
    /// <see cref="LockRecordClaim.Name"/> unless another value is already there, and on each node where the claim lands
    /// raises the record <see cref="LockRecordClaim.HighWaterName"/> to <see cref="LockRecordClaim.Sequence"/> when that
    /// is higher. Two holders can never both claim one name on a majority.
    /// </summary>
    /// <exception cref="ArgumentException">The claim breaks a rule.</exception>
    Task<LockRecordWrite> ClaimAsync(ILockHandle holder, LockRecordClaim claim, CancellationToken cancellationToken = default);
}

/// <summary>How to write a record.</summary>
public sealed record LockRecordWriteOptions
{
    /// <summary>How long the record is kept on each node. Required; at least 1 ms.</summary>
    public required TimeSpan Retention { get; init; }

    /// <summary>Keep a record that is already there (with another value: <see cref="LockRecordWriteOutcome.TakenByOther"/>).</summary>
    public bool WriteOnce { get; init; }

    /// <summary>Also refuse the write on a node whose fencing counter has passed the holder's fencing token.</summary>
    public bool Fenced { get; init; }

    /// <summary>How many times to try while too few nodes answered (<see cref="LockRecordWriteOutcome.Unavailable"/>), with short jittered pauses. Default 1.</summary>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>Checks every setting; each error names it (<c>options.X</c>) and the rule.</summary>
    internal void Validate()
    {
        LockRecordRules.CheckRetention(Retention, "options.Retention");
        LockRecordRules.CheckAttempts(MaxAttempts, "options.MaxAttempts");
    }
}

/// <summary>A claim of one numbered slot (for example one scheduled tick of a job).</summary>
/// <param name="Name">The record that marks the slot claimed.</param>
/// <param name="Value">The claimer's value (compared on a repeated claim).</param>
/// <param name="Sequence">The slot's number; the high-water record keeps the highest claimed.</param>
/// <param name="HighWaterName">The record that keeps the highest claimed sequence.</param>
public sealed record LockRecordClaim(string Name, string Value, long Sequence, string HighWaterName)
{
    /// <summary>How long the claim marker is kept. Required.</summary>
    public required TimeSpan Retention { get; init; }

    /// <summary>How long the high-water record is kept after the last claim. Required.</summary>
    public required TimeSpan HighWaterRetention { get; init; }

    /// <summary>How many times to try while too few nodes answered. Default 1.</summary>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>
    /// The earliest time this slot can have been claimed by anyone (for a scheduled tick: its time, less an allowance
    /// for clock skew between claimers), or null when unknown. A node that lost its data before then cannot have
    /// forgotten a claim of this slot, so it answers for it; without it, such a node stays out of the claim for its
    /// whole <see cref="Retention"/> after the loss (restart quarantine for records).
    /// </summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>Checks every part of the claim; each error names it (<c>claim.X</c>) and the rule.</summary>
    internal void Validate()
    {
        LockRecordRules.CheckName(Name, "claim.Name");
        LockRecordRules.CheckName(HighWaterName, "claim.HighWaterName");
        ArgumentNullException.ThrowIfNull(Value, "claim.Value");
        LockRecordRules.CheckRetention(Retention, "claim.Retention");
        LockRecordRules.CheckRetention(HighWaterRetention, "claim.HighWaterRetention");
        LockRecordRules.CheckAttempts(MaxAttempts, "claim.MaxAttempts");
    }
}

/// <summary>The rules for record names, retentions and attempts, shared by the record options and the record store.</summary>
internal static class LockRecordRules
{
    public static void CheckName(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (string.IsNullOrWhiteSpace(name) || name.Length > 512)
        {
            throw new ArgumentException("A record name must be 1 to 512 characters and not only white space.", paramName);
        }
    }

    public static void CheckRetention(TimeSpan retention, string paramName)
    {
        if (retention < TimeSpan.FromMilliseconds(1) || retention.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, retention, "A record's retention must be between 1 ms and about 24.8 days.");
        }
    }

    public static void CheckAttempts(int attempts, string paramName)
    {
        if (attempts is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(paramName, attempts, "MaxAttempts must be between 1 and 100.");
        }
    }
}

/// <summary>What a record write came to.</summary>
public enum LockRecordWriteOutcome
{
    /// <summary>A majority of nodes hold our value.</summary>
    Written,

    /// <summary>Another value was already there (write-once records and claims), and we have no majority.</summary>
    TakenByOther,

    /// <summary>Too many nodes no longer hold the writer's lock (or fencing token) for a majority to be possible.</summary>
    NotHolder,

    /// <summary>Too many nodes failed to answer.</summary>
    Unavailable,
}

/// <summary>The result of a record write.</summary>
public sealed class LockRecordWrite
{
    internal LockRecordWrite(LockRecordWriteOutcome outcome, string? otherValue, int confirmed, IReadOnlyList<NodeFailure> failures)
    {
        Outcome = outcome;
        OtherValue = otherValue;
        Confirmed = confirmed;
        Failures = failures;
    }

    /// <summary>What the write came to.</summary>
    public LockRecordWriteOutcome Outcome { get; }

    /// <summary>The other value found, with <see cref="LockRecordWriteOutcome.TakenByOther"/>.</summary>
    public string? OtherValue { get; }

    /// <summary>How many nodes hold our value.</summary>
    public int Confirmed { get; }

    /// <summary>The nodes that failed, and why.</summary>
    public IReadOnlyList<NodeFailure> Failures { get; }

    /// <summary>The failed nodes and why, one clause each, for logs and error messages.</summary>
    public string DescribeFailures() => string.Join("; ", Failures.Select(f => f.ToString()));
}

/// <summary>The answers of a record read.</summary>
public sealed class LockRecordRead
{
    internal LockRecordRead(IReadOnlyList<string?> values, IReadOnlyList<NodeFailure> failures, bool fromMajority)
    {
        Values = values;
        Failures = failures;
        FromMajority = fromMajority;
    }

    /// <summary>Each answering node's value (null where the record is absent), in no particular order.</summary>
    public IReadOnlyList<string?> Values { get; }

    /// <summary>The nodes that failed, and why.</summary>
    public IReadOnlyList<NodeFailure> Failures { get; }

    /// <summary>Whether a majority answered, so any record written to a majority was seen.</summary>
    public bool FromMajority { get; }
}
