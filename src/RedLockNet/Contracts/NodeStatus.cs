namespace RedLockNet;

/// <summary>
/// What one probe of one node found (<see cref="RedLockFactory.ProbeNodesAsync"/>): whether it answered, how fast,
/// and whether it may vote now. Only the library creates it.
/// </summary>
public sealed class NodeStatus
{
    internal NodeStatus(string endpoint, bool isReachable, TimeSpan? latency, TimeSpan quarantineRemaining, NodeFailureKind? failure, string? detail)
    {
        Endpoint = endpoint;
        IsReachable = isReachable;
        Latency = latency;
        QuarantineRemaining = quarantineRemaining;
        Failure = failure;
        Detail = detail;
    }

    /// <summary>The node's endpoint (host:port), in configuration order; never credentials.</summary>
    public string Endpoint { get; }

    /// <summary>Whether the node answered the probe (an error reply or a quarantine still counts as an answer).</summary>
    public bool IsReachable { get; }

    /// <summary>The probe's round trip, measured on the factory's clock; null when the node gave no usable answer.</summary>
    public TimeSpan? Latency { get; }

    /// <summary>
    /// How much longer the node stays out of the vote after a restart without persistence
    /// (<see cref="RedLockOptions.RestartQuarantine"/>); zero when it is not in quarantine.
    /// </summary>
    public TimeSpan QuarantineRemaining { get; }

    /// <summary>Whether the node is in restart quarantine.</summary>
    public bool IsQuarantined => QuarantineRemaining > TimeSpan.Zero;

    /// <summary>Why the node cannot vote now (as it would count in a lock round); null when it can.</summary>
    public NodeFailureKind? Failure { get; }

    /// <summary>A short human-readable reason when <see cref="Failure"/> is set; no credentials.</summary>
    public string? Detail { get; }

    /// <summary>Whether the node would take part in a vote now: it answered and is not in quarantine.</summary>
    public bool CanVote => Failure is null;

    /// <inheritdoc />
    public override string ToString() => Failure switch
    {
        null => $"{Endpoint} up ({Latency?.TotalMilliseconds:0.##} ms)",
        NodeFailureKind.Quarantined => $"{Endpoint} quarantined for another {QuarantineRemaining.TotalMilliseconds:0} ms",
        var kind => $"{Endpoint} {kind.Value.ToString().ToLowerInvariant()}: {Detail}",
    };
}
