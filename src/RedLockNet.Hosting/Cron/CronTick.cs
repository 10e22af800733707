namespace RedLockNet.Hosting.Cron;

/// <summary>How one tick of one job ended on the replica that reports it.</summary>
public enum CronTickOutcome
{
    /// <summary>The job ran and completed.</summary>
    Ran,

    /// <summary>The job ran and threw (after any retries); the next tick runs as usual.</summary>
    Failed,

    /// <summary>The job was running when leadership ended; its token was cancelled.</summary>
    Cancelled,

    /// <summary>The previous run was still going (<see cref="CronOverlap.Skip"/>).</summary>
    SkippedOverlap,

    /// <summary>Already claimed by another term (normal around a change of leader); that term ran or skipped it.</summary>
    ClaimedElsewhere,

    /// <summary>Missed while no replica led, and older than the misfire grace when a new leader came.</summary>
    MissedPastGrace,

    /// <summary>Missed: the claim could not reach a majority of nodes.</summary>
    MissedQuorumUnavailable,

    /// <summary>Missed: leadership ended after the tick was due and before it could run.</summary>
    MissedLeadershipLost,
}

/// <summary>A settled tick, raised by <see cref="CronRunner.TickSettled"/>.</summary>
public sealed class CronTickEventArgs : EventArgs
{
    internal CronTickEventArgs(string jobName, DateTimeOffset fireTime, CronTickOutcome outcome, string replicaId, long epoch, bool isCatchUp, string? detail, Exception? exception)
    {
        JobName = jobName;
        FireTime = fireTime;
        Outcome = outcome;
        ReplicaId = replicaId;
        Epoch = epoch;
        IsCatchUp = isCatchUp;
        Detail = detail;
        Exception = exception;
    }

    /// <summary>The job.</summary>
    public string JobName { get; }

    /// <summary>The tick's scheduled time (UTC).</summary>
    public DateTimeOffset FireTime { get; }

    /// <summary>How the tick ended here.</summary>
    public CronTickOutcome Outcome { get; }

    /// <summary>The reporting replica.</summary>
    public string ReplicaId { get; }

    /// <summary>The reporting replica's epoch when it led; 0 otherwise.</summary>
    public long Epoch { get; }

    /// <summary>Whether the tick ran (or was considered) late, as a misfire within the grace.</summary>
    public bool IsCatchUp { get; }

    /// <summary>More about the outcome (who claimed the tick, why a claim failed); may be null.</summary>
    public string? Detail { get; }

    /// <summary>The job's exception for <see cref="CronTickOutcome.Failed"/>.</summary>
    public Exception? Exception { get; }
}
