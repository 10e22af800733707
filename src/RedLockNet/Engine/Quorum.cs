namespace RedLockNet.Engine;

/// <summary>
/// Counts the votes of one question put to every node, and is the one place that knows the majority rule. Decided
/// as soon as a majority said yes, or as soon as the nodes still pending can no longer make one.
/// </summary>
internal struct Quorum
{
    public Quorum(int nodeCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodeCount, 1);
        NodeCount = nodeCount;
        Majority = MajorityOf(nodeCount);
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

    /// <summary>The answers that said no, alone, leave too few nodes for a majority: no retry can win.</summary>
    public readonly bool IsRefused => Denied > NodeCount - Majority;

    /// <summary>The failures, alone, leave too few nodes for a majority.</summary>
    public readonly bool IsUnavailable => Failed > NodeCount - Majority;

    /// <summary>
    /// Won: acquired. Lost because failures alone leave fewer than a majority of nodes able to answer:
    /// the quorum is unavailable. Lost otherwise: another owner holds the lock. Undecided: null.
    /// </summary>
    public readonly AcquireOutcome? Outcome =>
        IsWon ? AcquireOutcome.Acquired
        : !IsLost ? null
        : IsUnavailable ? AcquireOutcome.QuorumUnavailable
        : AcquireOutcome.Contended;

    /// <summary>More than half of <paramref name="nodeCount"/>: the majority rule, written once.</summary>
    public static int MajorityOf(int nodeCount) => (nodeCount / 2) + 1;

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

    /// <summary>Counts one vote of the given kind.</summary>
    public void Add(Vote vote)
    {
        switch (vote)
        {
            case Vote.Yes:
                Grant();
                break;
            case Vote.No:
                Deny();
                break;
            case Vote.Failed:
                Fail();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(vote), vote, "Only Yes, No and Failed are votes.");
        }
    }

    private readonly void EnsurePending()
    {
        if (Pending == 0)
        {
            throw new InvalidOperationException("Every node has already voted.");
        }
    }
}

/// <summary>One node's vote in a round; <see cref="Ask"/> means the node is asked (not preset).</summary>
internal enum Vote : byte
{
    /// <summary>Not counted yet: send the script to this node.</summary>
    Ask,

    /// <summary>Said yes (granted, written, answered, ...).</summary>
    Yes,

    /// <summary>Said no.</summary>
    No,

    /// <summary>Did not answer usefully.</summary>
    Failed,
}
