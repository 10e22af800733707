using RedLockNet.Nodes;

namespace RedLockNet;

public sealed partial class RedLockFactory
{
    /// <summary>
    /// Asks every node, in parallel, whether it answers: one PING each (or, for a node whose connection dropped, the
    /// restart check the next lock would run anyway, so a restarted node shows its quarantine at once). For health
    /// checks and dashboards; it takes no lock and changes no key.
    /// </summary>
    /// <param name="timeout">How long to wait for each node; default <see cref="RedLockOptions.NodeTimeout"/>. A node slower than that is reported as timed out.</param>
    /// <param name="cancellationToken">Stops waiting (the probes already sent are not recalled).</param>
    /// <returns>One status per node, in configuration order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is not positive.</exception>
    /// <exception cref="ObjectDisposedException">The factory was disposed.</exception>
    public async Task<IReadOnlyList<NodeStatus>> ProbeNodesAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var wait = timeout ?? _options.NodeTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(wait, TimeSpan.Zero, nameof(timeout));
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var nodes = _engine.Nodes.Nodes;
        var probes = new Task<NodeStatus>[nodes.Count];
        for (var i = 0; i < probes.Length; i++)
        {
            probes[i] = NodeProbing.ProbeAsync(nodes[i], wait, _options.TimeProvider, cancellationToken);
        }

        return await Task.WhenAll(probes).ConfigureAwait(false);
    }
}
