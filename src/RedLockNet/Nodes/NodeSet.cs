using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>The independent nodes a lock is spread over, and the majority it needs.</summary>
internal sealed class NodeSet : IAsyncDisposable
{
    public NodeSet(IReadOnlyList<ILockNode> nodes)
    {
        if (nodes.Count == 0)
        {
            throw new ArgumentException("At least one node is required.", nameof(nodes));
        }

        Nodes = nodes;
        Majority = (nodes.Count / 2) + 1;
    }

    public IReadOnlyList<ILockNode> Nodes { get; }

    public int Count => Nodes.Count;

    /// <summary>How many nodes must agree: more than half.</summary>
    public int Majority { get; }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes.OfType<RedisLockNode>())
        {
            node.Unguard();
        }

        foreach (var node in Nodes.OfType<RedisLockNode>().Where(n => n.Owned))
        {
            await node.Multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
