using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RedLockNet.Hosting.DependencyInjection;

namespace RedLockNet.Hosting.HealthChecks;

/// <summary>What a RedLock health check waits for and calls slow.</summary>
/// <param name="Timeout">How long to wait for the connection, and then for each node's answer.</param>
/// <param name="SlowThreshold">A node that answers but takes longer than this makes the result degraded.</param>
internal sealed record RedLockHealthCheckSettings(TimeSpan Timeout, TimeSpan SlowThreshold);

/// <summary>
/// Probes every node of one <see cref="RedLockConnection"/> (one round trip each): healthy when every node answers in
/// time, degraded while a majority can still vote but some node is down, slow or quarantined, and the registration's
/// failure status without a majority. The data lists every node by endpoint (never credentials).
/// </summary>
internal sealed class RedLockHealthCheck(RedLockConnection connection, RedLockHealthCheckSettings settings, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var failureStatus = context.Registration.FailureStatus;
        RedLockFactory locks;
        using (var wait = new CancellationTokenSource(settings.Timeout, time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(wait.Token, cancellationToken))
        {
            try
            {
                locks = await connection.GetFactoryAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(failureStatus, $"not connected within {Describe(settings.Timeout)}");
            }
            catch (Exception ex) when (ex is RedLockException or ArgumentException)
            {
                // the library's messages name endpoints only, never the connection strings
                return new HealthCheckResult(failureStatus, "cannot connect: " + ex.Message, ex);
            }
        }

        IReadOnlyList<NodeStatus> nodes;
        try
        {
            nodes = await locks.ProbeNodesAsync(settings.Timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException ex)
        {
            return new HealthCheckResult(failureStatus, "the lock factory was disposed", ex);
        }

        return Evaluate(nodes, locks.Majority, settings.SlowThreshold, failureStatus);
    }

    /// <summary>Turns the node statuses into a result: the status, a one-line description and one data entry per node.</summary>
    internal static HealthCheckResult Evaluate(IReadOnlyList<NodeStatus> nodes, int majority, TimeSpan slowThreshold, HealthStatus failureStatus)
    {
        var voting = 0;
        var troubled = new List<string>();
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["nodes"] = nodes.Count,
            ["majority"] = majority,
        };
        foreach (var node in nodes)
        {
            var slow = node.CanVote && node.Latency > slowThreshold;
            var state = node.Failure?.ToString().ToLowerInvariant() ?? (slow ? "slow" : "up");
            if (node.CanVote)
            {
                voting++;
            }

            if (state != "up")
            {
                troubled.Add(node.IsQuarantined
                    ? $"{node.Endpoint} quarantined for {Describe(node.QuarantineRemaining)}"
                    : node.Latency is { } took && node.Failure is null ? $"{node.Endpoint} slow ({Describe(took)})" : $"{node.Endpoint} {state}");
            }

            data[node.Endpoint] = Describe(node, state);
        }

        data["voting"] = voting;
        var problems = troubled.Count == 0 ? string.Empty : ": " + string.Join(", ", troubled);
        if (voting < majority)
        {
            return new HealthCheckResult(failureStatus, $"{voting} of {nodes.Count} nodes can vote; a lock needs {majority}{problems}", data: data);
        }

        if (troubled.Count > 0)
        {
            return HealthCheckResult.Degraded($"{voting} of {nodes.Count} nodes can vote (a lock needs {majority}){problems}", data: data);
        }

        var slowest = nodes.Max(n => n.Latency ?? TimeSpan.Zero);
        return HealthCheckResult.Healthy($"all {nodes.Count} nodes answer (slowest {Describe(slowest)})", data);
    }

    private static Dictionary<string, object> Describe(NodeStatus node, string state)
    {
        var entry = new Dictionary<string, object>(StringComparer.Ordinal) { ["state"] = state };
        if (node.Latency is { } latency)
        {
            entry["latency_ms"] = Math.Round(latency.TotalMilliseconds, 3);
        }

        if (node.IsQuarantined)
        {
            entry["quarantine_remaining_ms"] = Math.Round(node.QuarantineRemaining.TotalMilliseconds);
        }

        if (node.Detail is { } detail)
        {
            entry["detail"] = detail; // one line already: the library keeps the gist of a client error
        }

        return entry;
    }

    private static string Describe(TimeSpan span) => span < TimeSpan.FromSeconds(1)
        ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMilliseconds:0.###} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.##} s");
}
