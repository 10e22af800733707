namespace RedLockNet.Nodes;

/// <summary>The independent nodes a lock is spread over, and what must be closed with them.</summary>
internal sealed class NodeSet : IAsyncDisposable
{
    private readonly IReadOnlyList<IAsyncDisposable> _resources;

    public NodeSet(IReadOnlyList<ILockNode> nodes, IReadOnlyList<IAsyncDisposable>? resources = null)
    {
        if (nodes.Count == 0)
        {
            throw new ArgumentException("At least one node is required.", nameof(nodes));
        }

        Nodes = nodes;
        _resources = resources ?? [];
    }

    public IReadOnlyList<ILockNode> Nodes { get; }

    public int Count => Nodes.Count;

    public ILockNode this[int index] => Nodes[index];

    public async ValueTask DisposeAsync()
    {
        foreach (var resource in _resources)
        {
            await resource.DisposeAsync().ConfigureAwait(false);
        }
    }
}
