using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>A node in restart quarantine was asked to grant a lock: its vote counts as a failure.</summary>
internal sealed class NodeQuarantinedException : RedisException
{
    public NodeQuarantinedException(string node, TimeSpan remaining)
        : base($"restarted without persistence; kept out of the vote for another {remaining.TotalMilliseconds:0} ms")
    {
        Node = node;
        Remaining = remaining;
    }

    public string Node { get; }

    public TimeSpan Remaining { get; }
}
