using Microsoft.Extensions.Logging;

namespace RedLockNet.Hosting.Election;

/// <summary>
/// Settings of one election group. The timing follows Kubernetes leader election:
/// <see cref="LeaseDuration"/> &gt; <see cref="RenewDeadline"/> &gt; 1.2 x <see cref="RetryPeriod"/>.
/// </summary>
public sealed class LeaderElectionOptions
{
    /// <summary>Name of the election: replicas with the same group (on the same nodes and key prefix) elect one leader.</summary>
    public string Group { get; set; } = "leader";

    /// <summary>
    /// How this replica is named to the others (in <see cref="OnNewLeader"/> and logs). Default: machine name,
    /// process id and a short random suffix. Not a secret.
    /// </summary>
    public string? Identity { get; set; }

    /// <summary>Time to live of the leader's lock: how long a crashed leader can keep the others waiting. Default 15 s.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The leader stops leading (its term's token fires) when it has not renewed for this long, measured from
    /// the start of its last confirmed renewal. Must leave the lease's clock-drift allowance. Default 10 s.
    /// </summary>
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often the leader renews, and how often (jittered up to 1.2 x) a standby campaigns. Default 2 s.
    /// </summary>
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Release the lock at once when <see cref="LeaderElector.RunAsync"/> is cancelled, so another replica takes over
    /// without waiting for the lease to run out. Default true.
    /// </summary>
    public bool ReleaseOnStop { get; set; } = true;

    /// <summary>
    /// Runs on the thread pool when this replica becomes leader. The token fires when the term ends (before the lease
    /// can expire); the term ends only after this task has finished, so honour the token.
    /// </summary>
    public Func<LeadershipTerm, CancellationToken, Task>? OnStartedLeading { get; set; }

    /// <summary>Called after a term of this replica ended and its work finished. Never called for a replica that did not lead.</summary>
    public Action<LeadershipTerm>? OnStoppedLeading { get; set; }

    /// <summary>Called when the observed leader changes (this replica included), with the new leader's identity.</summary>
    public Action<string>? OnNewLeader { get; set; }

    /// <summary>Logger factory; default: the one in <see cref="RedLockOptions.LoggerFactory"/>.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal LeaderElectionOptions Clone() => (LeaderElectionOptions)MemberwiseClone();
}
