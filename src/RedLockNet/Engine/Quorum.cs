namespace RedLockNet.Engine;

/// <summary>
/// Counts the votes of one fan-out. Decided as soon as a majority granted, or as soon as the
/// nodes still pending can no longer make one.
/// </summary>
internal struct Quorum
{
    public Quorum(int nodeCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodeCount, 1);
        NodeCount = nodeCount;
        Majority = (nodeCount / 2) + 1;
    }

    public int NodeCount { get; }

    public int Majority { get; }

    public int Granted { get; private set; }

    public int Denied { get; private set; }

    public int Failed { get; private set; }

    public readonly int Pending => NodeCount - Granted - Denied - Failed;

    public readonly bool IsWon => Granted >= Majority;

    public readonly bool IsLost => Granted + Pending < Majority;

    public readonly bool IsDecided => IsWon || IsLost;

    /// <summary>
    /// Won: acquired. Lost because failures alone leave fewer than a majority of nodes able to answer:
    /// the quorum is unavailable. Lost otherwise: another owner holds the lock. Undecided: null.
    /// </summary>
    public readonly AcquireOutcome? Outcome =>
        IsWon ? AcquireOutcome.Acquired
        : !IsLost ? null
        : Failed > NodeCount - Majority ? AcquireOutcome.QuorumUnavailable
        : AcquireOutcome.Contended;

    public void Grant()
    {
        EnsurePending();
        Granted++;
    }

    public void Deny()
    {
        EnsurePending();
        Denied++;
    }

    public void Fail()
    {
        EnsurePending();
        Failed++;
    }

    private readonly void EnsurePending()
    {
        if (Pending == 0)
        {
            throw new InvalidOperationException("Every node has already voted.");
        }
    }
}
