using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>A node in restart quarantine was asked to grant a lock: its vote counts as a failure.</summary>
internal sealed class NodeQuarantinedException : RedisException
{
    public NodeQuarantinedException(string node, TimeSpan remaining)
        : this(node, remaining, $"restarted without persistence; kept out of the vote for another {remaining.TotalMilliseconds:0} ms")
    {
    }

    private NodeQuarantinedException(string node, TimeSpan remaining, string message)
        : base(message)
    {
        Node = node;
        Remaining = remaining;
    }

    /// <summary>The node lost its data less than a record's retention ago: it may have forgotten the record.</summary>
    public static NodeQuarantinedException ForRecords(string node, TimeSpan retention, TimeSpan remaining) =>
        new(node, remaining, $"lost its data less than the record's retention ({retention.TotalSeconds:0.###} s) ago; kept out of the vote on the record for another {remaining.TotalMilliseconds:0} ms");

    public string Node { get; }

    public TimeSpan Remaining { get; }
}
