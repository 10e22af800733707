namespace RedLockNet.Hosting.Election;

/// <summary>Why a term of leadership ended.</summary>
public enum LeadershipEndReason
{
    /// <summary>The elector was stopped (its <c>RunAsync</c> token fired).</summary>
    Stopped,

    /// <summary>The lock was lost: refused by a majority, or its validity ran out.</summary>
    LockLost,

    /// <summary>No renewal was confirmed within the renew deadline (nodes slow or unreachable).</summary>
    RenewDeadlineExceeded,
}

/// <summary>One replica's time as leader: its epoch (the lock's fencing token) and the token that ends its work.</summary>
public sealed class LeadershipTerm
{
    internal LeadershipTerm(string group, string identity, ILockHandle handle, DateTimeOffset startedAt, CancellationToken token)
    {
        Group = group;
        Identity = identity;
        Lock = handle;
        Epoch = handle.FencingToken ?? 0; // minted on acquisition (0 only with fencing off)
        StartedAt = startedAt;
        CancellationToken = token;
    }

    /// <summary>The election group.</summary>
    public string Group { get; }

    /// <summary>The leader's identity.</summary>
    public string Identity { get; }

    /// <summary>
    /// The term's number: strictly greater than every earlier term's epoch in this group (it is the lock's fencing
    /// token; 0 when fencing is off). Pass it with writes so a resource can refuse a deposed leader.
    /// </summary>
    public long Epoch { get; }

    /// <summary>When the term began (wall clock of this replica).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Fires when this replica stops leading, before its lease can expire.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The leader's lock. Do not release it; the elector does.</summary>
    public ILockHandle Lock { get; }

    /// <summary>Why the term ended; null while it lasts.</summary>
    public LeadershipEndReason? EndReason { get; internal set; }

    /// <summary>Whether the term is still running.</summary>
    public bool IsActive => !CancellationToken.IsCancellationRequested;

    /// <summary>
    /// Throws <see cref="LockLostException"/> unless the term is active and the lock has at least
    /// <paramref name="minimumRemaining"/> of validity left. Call it right before acting as leader.
    /// </summary>
    public void EnsureLeading(TimeSpan minimumRemaining = default)
    {
        Lock.EnsureValid(minimumRemaining);
        if (!IsActive)
        {
            var reason = EndReason == LeadershipEndReason.RenewDeadlineExceeded ? LockLostReason.RenewalTimedOut : LockLostReason.Expired;
            throw new LockLostException(Lock.Resource, LockStatus.Lost, reason, Lock.RemainingValidity, minimumRemaining);
        }
    }
}
