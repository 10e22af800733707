namespace RedLockNet;

/// <summary>Base type of every error RedLockNet raises about locks and nodes.</summary>
public class RedLockException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RedLockException() { }

    /// <summary>Creates the exception with a message.</summary>
    public RedLockException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public RedLockException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>
/// The lock stayed held by another owner until the wait timeout ran out.
/// The nodes answered; the resource was simply busy.
/// </summary>
public sealed class LockTimeoutException : RedLockException
{
    /// <summary>Creates the exception.</summary>
    public LockTimeoutException(string resource, TimeSpan waited)
        : base($"Lock '{resource}' was still held by another owner after waiting {waited.TotalMilliseconds:0} ms.")
    {
        Resource = resource;
        Waited = waited;
    }

    /// <summary>The resource that could not be locked.</summary>
    public string Resource { get; }

    /// <summary>How long the caller waited before giving up.</summary>
    public TimeSpan Waited { get; }
}

/// <summary>
/// Not enough nodes answered in time to form a majority (or the answers came so late that no
/// validity was left). Says which nodes failed and why.
/// </summary>
public sealed class QuorumUnavailableException : RedLockException
{
    /// <summary>Creates the exception.</summary>
    /// <remarks>
    /// The message has one line per failed node (endpoint, kind, the gist of the cause); the full errors are kept as
    /// <see cref="Exception.InnerException"/> (one node's error, or an <see cref="AggregateException"/> of several) and in
    /// each <see cref="NodeFailure.Error"/>.
    /// </remarks>
    public QuorumUnavailableException(string resource, string operation, int nodeCount, int required, IReadOnlyList<NodeFailure> failures, string? detail = null)
        : base(BuildMessage(resource, operation, nodeCount, required, failures, detail), InnerFrom(failures)!)
    {
        Resource = resource;
        NodeCount = nodeCount;
        Required = required;
        Failures = failures;
    }

    /// <summary>The resource of the failed operation.</summary>
    public string Resource { get; }

    /// <summary>How many nodes the lock is spread over.</summary>
    public int NodeCount { get; }

    /// <summary>How many nodes had to agree.</summary>
    public int Required { get; }

    /// <summary>The nodes that did not answer usefully, with the reason for each.</summary>
    public IReadOnlyList<NodeFailure> Failures { get; }

    private static string BuildMessage(string resource, string operation, int nodeCount, int required, IReadOnlyList<NodeFailure> failures, string? detail)
    {
        var text = $"Could not {operation} '{resource}': {required} of {nodeCount} nodes must agree";
        if (detail is not null)
        {
            text += $"; {detail}";
        }

        text += ".";
        foreach (var failure in failures)
        {
            text += Environment.NewLine + "  " + failure;
        }

        return text;
    }

    private static Exception? InnerFrom(IReadOnlyList<NodeFailure> failures)
    {
        var errors = failures.Where(f => f.Error is not null).Select(f => f.Error!).ToArray();
        return errors.Length switch
        {
            0 => null,
            1 => errors[0],
            _ => new AggregateException("The errors of the failed nodes, in the order of the message's lines.", errors),
        };
    }
}

/// <summary>The lock is no longer held, or less of its validity is left than the caller asked for.</summary>
public sealed class LockLostException : RedLockException
{
    /// <summary>Creates the exception.</summary>
    public LockLostException(string resource, LockStatus status, LockLostReason? reason, TimeSpan remaining, TimeSpan required)
        : base(BuildMessage(resource, status, reason, remaining, required))
    {
        Resource = resource;
        Status = status;
        Reason = reason;
        Remaining = remaining;
    }

    /// <summary>The resource of the lock.</summary>
    public string Resource { get; }

    /// <summary>The lock's status when the check failed.</summary>
    public LockStatus Status { get; }

    /// <summary>Why it was lost, when it was.</summary>
    public LockLostReason? Reason { get; }

    /// <summary>The validity that was left.</summary>
    public TimeSpan Remaining { get; }

    private static string BuildMessage(string resource, LockStatus status, LockLostReason? reason, TimeSpan remaining, TimeSpan required) => status switch
    {
        LockStatus.Released => $"Lock '{resource}' was released.",
        LockStatus.Lost => $"Lock '{resource}' was lost ({reason}).",
        _ => $"Lock '{resource}' has {remaining.TotalMilliseconds:0} ms of validity left; {required.TotalMilliseconds:0} ms were required.",
    };
}

/// <summary>The configuration is unsafe for Redlock, found while connecting (for example two entries that reach the same server).</summary>
public sealed class RedLockConfigurationException : RedLockException
{
    /// <summary>Creates the exception.</summary>
    public RedLockConfigurationException(string message) : base(message) { }
}

/// <summary>Why one node did not take part in a vote.</summary>
public enum NodeFailureKind
{
    /// <summary>The node did not answer within the per-node timeout.</summary>
    Timeout,

    /// <summary>The node could not be reached (no connection).</summary>
    Unreachable,

    /// <summary>The node answered with an error.</summary>
    Error,

    /// <summary>
    /// The node restarted without persistence recently and is kept out of the vote until every lock it may have
    /// granted before the restart has expired (<see cref="RedLockOptions.RestartQuarantine"/>).
    /// </summary>
    Quarantined,
}

/// <summary>One node's failure in one operation.</summary>
/// <param name="Node">The node's endpoint (host:port; never credentials).</param>
/// <param name="Kind">What went wrong.</param>
/// <param name="Detail">A short human-readable reason: one line, the gist of the cause.</param>
public sealed record NodeFailure(string Node, NodeFailureKind Kind, string Detail)
{
    /// <summary>The client's full error behind <see cref="Detail"/>, when there was one (connection dumps and all).</summary>
    public Exception? Error { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Node} {Kind.ToString().ToLowerInvariant()}: {Detail}";
}
