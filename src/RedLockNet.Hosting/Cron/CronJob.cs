using Cronos;
using Polly;

namespace RedLockNet.Hosting.Cron;

/// <summary>What to do with a tick that comes while the job's previous run is still going.</summary>
public enum CronOverlap
{
    /// <summary>
    /// Skip the tick (it is claimed and reported as skipped, so no other replica runs it either). Missed ticks that a new
    /// leader catches up within the misfire grace are a backlog, not an overlap: they run one after another, and a tick
    /// that falls due while that backlog runs waits behind it.
    /// </summary>
    Skip,

    /// <summary>Run it after the previous run ends, in tick order.</summary>
    Queue,
}

/// <summary>Per-job settings.</summary>
public sealed class CronJobOptions
{
    /// <summary>What to do when a tick comes while the previous run is still going. Default <see cref="CronOverlap.Skip"/>.</summary>
    public CronOverlap Overlap { get; set; } = CronOverlap.Skip;

    /// <summary>Optional retry around each run (for example a Polly retry on transient errors). Default: no retry.</summary>
    public ResiliencePipeline? Retry { get; set; }

    /// <summary>
    /// How late a tick missed while no replica led may still run, once, on the new leader.
    /// Default: <see cref="CronRunnerOptions.MisfireGrace"/>.
    /// </summary>
    public TimeSpan? MisfireGrace { get; set; }

    /// <summary>Checks the job's settings, naming the broken property as <c>options.Property</c>.</summary>
    /// <exception cref="ArgumentException">A property breaks a rule.</exception>
    internal void Validate()
    {
        if (MisfireGrace is { } grace && grace < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException("options.MisfireGrace", grace, "MisfireGrace must not be negative.");
        }

        if (!Enum.IsDefined(Overlap))
        {
            throw new ArgumentOutOfRangeException("options.Overlap", Overlap, "Overlap must be Skip or Queue.");
        }
    }
}

/// <summary>What a job run is told: which tick, under which leadership term, on which replica.</summary>
/// <param name="JobName">The job's name.</param>
/// <param name="FireTime">The tick's scheduled time (UTC); the tick's identity across replicas.</param>
/// <param name="Epoch">The leader's epoch (fencing token): pass it with writes so a resource can refuse a deposed leader.</param>
/// <param name="ReplicaId">The identity of the replica running the tick.</param>
/// <param name="IsCatchUp">True when the tick was missed during a change of leader and runs late, within the misfire grace.</param>
public sealed record CronJobContext(string JobName, DateTimeOffset FireTime, long Epoch, string ReplicaId, bool IsCatchUp);

/// <summary>A job run by a leader-elected <see cref="CronRunner"/>: a unique name, a Cronos schedule and the work.</summary>
public sealed class CronJob
{
    private CronJob(string name, string expression, CronExpression schedule, TimeZoneInfo timeZone, Func<CronJobContext, CancellationToken, Task> run, CronJobOptions options)
    {
        Name = name;
        Expression = expression;
        Schedule = schedule;
        TimeZone = timeZone;
        Run = run;
        Options = options;
    }

    /// <summary>The job's name, the same on every replica (ticks are claimed per name).</summary>
    public string Name { get; }

    /// <summary>The cron expression as given.</summary>
    public string Expression { get; }

    /// <summary>The time zone the schedule is read in.</summary>
    public TimeZoneInfo TimeZone { get; }

    /// <summary>The job's settings.</summary>
    public CronJobOptions Options { get; }

    internal CronExpression Schedule { get; }

    internal Func<CronJobContext, CancellationToken, Task> Run { get; }

    /// <summary>
    /// Defines a job. <paramref name="cronExpression"/> is Cronos syntax with five fields (minute precision) or six
    /// (seconds first), for example <c>"0 2 * * *"</c> or <c>"*/10 * * * * *"</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The name or the expression breaks a rule.</exception>
    public static CronJob Create(string name, string cronExpression, Func<CronJobContext, CancellationToken, Task> run, TimeZoneInfo? timeZone = null, CronJobOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(cronExpression);
        ArgumentNullException.ThrowIfNull(run);
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200)
        {
            throw new ArgumentException("The job name must be 1 to 200 characters and not only white space.", nameof(name));
        }

        var opts = options ?? new CronJobOptions();
        opts.Validate();

        return new CronJob(name, cronExpression, Parse(cronExpression), timeZone ?? TimeZoneInfo.Utc, run, opts);
    }

    /// <summary>The first tick strictly after <paramref name="after"/>, or null when the schedule has no more.</summary>
    internal DateTimeOffset? NextAfter(DateTimeOffset after) => Schedule.GetNextOccurrence(after, TimeZone, inclusive: false);

    private static CronExpression Parse(string cronExpression)
    {
        var fields = cronExpression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        try
        {
            return CronExpression.Parse(cronExpression, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            throw new ArgumentException(
                "Expected a cron expression of five fields (minute hour day-of-month month day-of-week, such as \"0 2 * * *\") "
                + $"or six with seconds first (such as \"*/10 * * * * *\"); '{cronExpression}' has {fields} field(s). Cronos: {ex.Message}",
                nameof(cronExpression),
                ex);
        }
    }
}
