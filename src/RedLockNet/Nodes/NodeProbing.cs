using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>One cheap round trip per node to report its health, outside any lock round.</summary>
internal static class NodeProbing
{
    /// <summary>
    /// Probes <paramref name="node"/> (<see cref="ILockNode.ProbeAsync"/>: a PING, or the pending restart check)
    /// and waits at most <paramref name="timeout"/> for it. Node faults become the status; only
    /// <paramref name="cancellationToken"/> throws.
    /// </summary>
    public static async Task<NodeStatus> ProbeAsync(ILockNode node, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var probe = Start(node);
        try
        {
            await probe.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            NodeCalls.Observe(probe);
            return Failed(node, NodeCalls.TimedOut(node.Name, timeout));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            NodeCalls.Observe(probe);
            throw;
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            return Failed(node, NodeCalls.Classify(node.Name, ex));
        }

        var latency = time.GetElapsedTime(started);
        var quarantine = node.QuarantineRemaining;
        return quarantine > TimeSpan.Zero
            ? new NodeStatus(node.Name, true, latency, quarantine, NodeFailureKind.Quarantined, node.QuarantineDetail ?? "restarted without persistence, kept out of the vote")
            : new NodeStatus(node.Name, true, latency, TimeSpan.Zero, null, null);
    }

    private static Task Start(ILockNode node)
    {
        try
        {
            return node.ProbeAsync();
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            return Task.FromException(ex);
        }
    }

    private static NodeStatus Failed(ILockNode node, NodeFailure failure)
    {
        var reachable = failure.Kind is not (NodeFailureKind.Timeout or NodeFailureKind.Unreachable);
        return new NodeStatus(node.Name, reachable, null, TimeSpan.Zero, failure.Kind, failure.Detail);
    }
}
