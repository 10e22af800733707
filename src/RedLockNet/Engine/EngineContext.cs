using Microsoft.Extensions.Logging;
using RedLockNet.Nodes;

namespace RedLockNet.Engine;

/// <summary>What every engine operation of one factory needs: the nodes, the validated options, the logger and the clock.</summary>
internal sealed class EngineContext(NodeSet nodes, RedLockOptions options, ILogger logger)
{
    public NodeSet Nodes { get; } = nodes;

    public RedLockOptions Options { get; } = options;

    public ILogger Logger { get; } = logger;

    public TimeProvider Time { get; } = options.TimeProvider;

    /// <summary>The deadlines of every quorum round of this factory, on one timer.</summary>
    public RoundTimeouts Timeouts { get; } = new(options.TimeProvider);

    /// <summary>This factory's callers waiting for a resource, in line per resource.</summary>
    public LocalWaiters Waiters { get; } = new();

    /// <summary>This factory's tickets in the nodes' waiting rooms, and its wake-up channel.</summary>
    public WaitingRooms Rooms { get; } = new(options);

    /// <summary>How many nodes must agree.</summary>
    public int Majority { get; } = Quorum.MajorityOf(nodes.Count);
}
