using Microsoft.Extensions.Logging;

namespace RedLockNet.Hosting.Election;

/// <summary>
/// Settings of one election group. The timing follows Kubernetes leader election:
/// <see cref="LeaseDuration"/> &gt; <see cref="RenewDeadline"/> &gt; 1.2 x <see cref="RetryPeriod"/>.
/// </summary>
public sealed class LeaderElectionOptions
{
    /// <summary>The group a <see cref="LeaderElector"/> campaigns in when none is set.</summary>
    public const string DefaultGroup = "leader";

    private string _group = DefaultGroup;

    /// <summary>
    /// Name of the election: replicas with the same group (on the same nodes and key prefix) elect one leader.
    /// Default <c>leader</c> (<see cref="DefaultGroup"/>); a cron runner keeps its own default, <c>cron</c>, unless this
    /// is set.
    /// </summary>
    public string Group
    {
        get => _group;
        set
        {
            _group = value;
            IsGroupSet = true;
        }
    }

    /// <summary>Whether <see cref="Group"/> was set (to anything, null included), rather than left at its default.</summary>
    internal bool IsGroupSet { get; private set; }

    /// <summary>Options whose group reads <paramref name="group"/> until it is set (a default, not a choice).</summary>
    internal static LeaderElectionOptions WithDefaultGroup(string group) => new() { _group = group };

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

    /// <summary>
    /// Checks every rule of these options against <paramref name="locks"/> (the lease must also be a valid lock expiry
    /// there), naming the broken property as <c>options.Property</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A property breaks a rule.</exception>
    internal void Validate(RedLockFactory locks)
    {
        LockResources.Validate(Group, ParamName(nameof(Group)));
        if (Identity is { } identity && (string.IsNullOrWhiteSpace(identity) || identity.Length > 256))
        {
            throw new ArgumentException("The identity must be 1 to 256 characters and not only white space.", ParamName(nameof(Identity)));
        }

        if (RetryPeriod < TimeSpan.FromMilliseconds(10))
        {
            throw new ArgumentOutOfRangeException(ParamName(nameof(RetryPeriod)), RetryPeriod, "The retry period must be at least 10 ms.");
        }

        if (RenewDeadline <= RetryPeriod * 1.2)
        {
            throw new ArgumentOutOfRangeException(ParamName(nameof(RenewDeadline)), RenewDeadline,
                $"The renew deadline must be longer than 1.2 x the retry period ({RetryPeriod.TotalMilliseconds:0} ms), so a leader gets more than one try to renew.");
        }

        if (LeaseDuration <= RenewDeadline)
        {
            throw new ArgumentOutOfRangeException(ParamName(nameof(LeaseDuration)), LeaseDuration,
                $"The lease duration must be longer than the renew deadline ({RenewDeadline.TotalMilliseconds:0} ms).");
        }

        var drift = locks.TimingFor(LeaseDuration, ParamName(nameof(LeaseDuration))).Drift;
        if (RenewDeadline >= LeaseDuration - drift)
        {
            throw new ArgumentOutOfRangeException(ParamName(nameof(RenewDeadline)), RenewDeadline,
                $"The renew deadline must be shorter than the lease duration less its clock-drift allowance ({drift.TotalMilliseconds:0.#} ms), so leading work stops before the lease can expire.");
        }
    }

    /// <summary>A property's name as the caller of an elector's constructor sees it: a property of its <c>options</c>.</summary>
    private static string ParamName(string property) => "options." + property;
}
