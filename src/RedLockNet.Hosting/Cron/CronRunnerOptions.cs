using RedLockNet.Hosting.Election;

namespace RedLockNet.Hosting.Cron;

/// <summary>Settings of a <see cref="CronRunner"/>: the election its replicas hold, and the misfire grace.</summary>
public sealed class CronRunnerOptions
{
    /// <summary>The election group of a runner whose <see cref="Election"/> options leave the group unset.</summary>
    public const string DefaultGroup = "cron";

    /// <summary>
    /// The election among the replicas; only the leader runs jobs. The runner campaigns in group <c>cron</c>
    /// (<see cref="DefaultGroup"/>) unless <see cref="LeaderElectionOptions.Group"/> is set here, also when these options
    /// are replaced by new ones: use one group per set of replicas that share jobs. Callbacks set here run too.
    /// </summary>
    public LeaderElectionOptions Election { get; set; } = LeaderElectionOptions.WithDefaultGroup(DefaultGroup);

    /// <summary>The group the runner campaigns in: the election's, when it was set, else <see cref="DefaultGroup"/>.</summary>
    internal string Group => Election.IsGroupSet ? Election.Group : DefaultGroup;

    /// <summary>
    /// A tick missed because no replica led (the leader crashed) runs once on the next leader when it is at most this
    /// late; older ones are skipped and reported. Default 1 minute. A job can override it.
    /// </summary>
    public TimeSpan MisfireGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Checks the runner's own settings, naming the broken property as <c>options.Property</c>. The election's rules
    /// are checked by the <see cref="LeaderElector"/> the runner builds from it.
    /// </summary>
    /// <exception cref="ArgumentException">A property breaks a rule.</exception>
    internal void Validate()
    {
        if (MisfireGrace < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException("options.MisfireGrace", MisfireGrace, "The misfire grace must not be negative.");
        }

        ArgumentNullException.ThrowIfNull(Election, "options.Election");
    }
}
