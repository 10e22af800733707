using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RedLockNet.Diagnostics;

/// <summary>
/// The one meter and the one activity source of RedLockNet and the libraries built on it (RedLockNet.Hosting adds its
/// instruments to the same meter), for OpenTelemetry or dotnet-counters. Tag names are in <see cref="RedLockTags"/>.
/// </summary>
public static class RedLockTelemetry
{
    /// <summary>Name of the meter and of the activity source.</summary>
    public const string Name = "RedLockNet";

    /// <summary>Version of the meter and of the activity source: the names and tags they publish follow it.</summary>
    public const string Version = "1.0";

    /// <summary>
    /// The activity source: spans <c>redlock.acquire</c>, <c>redlock.extend</c> and <c>redlock.release</c> (client
    /// spans tagged with the resource, the outcome and the votes), and from RedLockNet.Hosting
    /// <c>redlock.leader.term</c> and <c>redlock.cron.tick</c>.
    /// </summary>
    public static ActivitySource ActivitySource { get; } = new(Name, Version);

    /// <summary>The meter every RedLockNet instrument is created on. Libraries built on RedLockNet add theirs here.</summary>
    public static Meter Meter { get; } = new(Name, Version);

    internal static ActivitySource Source => ActivitySource;

    private static readonly Counter<long> Attempts = Meter.CreateCounter<long>(
        "redlock.acquire.attempts", unit: "{attempt}", description: "Quorum attempts at a lock, by outcome.");

    private static readonly Histogram<double> AcquireDuration = Meter.CreateHistogram<double>(
        "redlock.acquire.duration", unit: "s", description: "Time from the call to acquire until it returned or threw, by result.");

    private static readonly Counter<long> ReleaseIncomplete = Meter.CreateCounter<long>(
        "redlock.release.incomplete", unit: "{release}", description: "Releases that some nodes did not confirm.");

    private static readonly UpDownCounter<long> ActiveLeases = Meter.CreateUpDownCounter<long>(
        "redlock.leases.active", unit: "{lease}", description: "Locks being renewed automatically.");

    private static readonly Counter<long> Extends = Meter.CreateCounter<long>(
        "redlock.renewal.extends", unit: "{lock}", description: "Locks extended by the renewer (each batch sends one command per node).");

    private static readonly Counter<long> RenewalBatches = Meter.CreateCounter<long>(
        "redlock.renewal.batches", unit: "{batch}", description: "Renewal batches sent (one command per node each).");

    private static readonly Counter<long> LocksLost = Meter.CreateCounter<long>(
        "redlock.lock.lost", unit: "{lock}", description: "Locks lost while held, by reason.");

    private static readonly Counter<long> Quarantines = Meter.CreateCounter<long>(
        "redlock.node.quarantines", unit: "{quarantine}", description: "Restarted nodes kept out of the vote until the locks they forgot have expired.");

    private static readonly Counter<long> FencingRounds = Meter.CreateCounter<long>(
        "redlock.fencing.settlements", unit: "{lock}", description: "Fencing tokens settled, by rounds needed (1: the granting majority agreed; 2: laggards were raised).");

    internal static void RecordFencing(bool raised) =>
        FencingRounds.Add(1, new KeyValuePair<string, object?>(RedLockTags.FencingRounds, raised ? 2 : 1));

    internal static void RecordQuarantine() => Quarantines.Add(1);

    internal static void LeaseStarted() => ActiveLeases.Add(1);

    internal static void LeaseEnded() => ActiveLeases.Add(-1);

    internal static void RecordRenewalBatch(int locks)
    {
        RenewalBatches.Add(1);
        Extends.Add(locks);
    }

    internal static void RecordLost(LockLostReason reason) =>
        LocksLost.Add(1, new KeyValuePair<string, object?>(RedLockTags.Reason, reason.ToString()));

    internal static void RecordAttempt(AcquireOutcome outcome) =>
        Attempts.Add(1, new KeyValuePair<string, object?>(RedLockTags.Outcome, OutcomeTag(outcome)));

    internal static void RecordAcquire(TimeSpan elapsed, string result) =>
        AcquireDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(RedLockTags.Outcome, result));

    internal static void RecordReleaseIncomplete() => ReleaseIncomplete.Add(1);

    /// <summary>Starts a client span for an operation on <paramref name="resource"/> (null when nobody listens).</summary>
    internal static Activity? StartOperation(string name, string resource)
    {
        var activity = Source.StartActivity(name, ActivityKind.Client);
        activity?.SetTag(RedLockTags.Resource, resource);
        return activity;
    }

    /// <summary>
    /// Tags the votes an operation was decided on. Outside the factory's own span (<paramref name="activity"/> is
    /// <c>Activity.Current</c> at the call, maybe the caller's span when ours is not recorded) it does nothing.
    /// </summary>
    internal static void TagVotes(Activity? activity, string operation, int granted, int denied, int failed)
    {
        if (activity is { IsAllDataRequested: true } && activity.Source == Source && activity.OperationName == operation)
        {
            activity.SetTag(RedLockTags.VotesGranted, granted);
            activity.SetTag(RedLockTags.VotesDenied, denied);
            activity.SetTag(RedLockTags.VotesFailed, failed);
        }
    }

    /// <summary>
    /// Marks <paramref name="activity"/> with what <paramref name="error"/> means as an outcome. Always false: meant
    /// for an exception filter, so the exception goes on untouched.
    /// </summary>
    internal static bool NoteFailure(Activity? activity, Exception error)
    {
        if (activity is not null)
        {
            var canceled = error is OperationCanceledException;
            activity.SetTag(RedLockTags.Outcome, error switch
            {
                QuorumUnavailableException => "quorum_unavailable",
                LockLostException => "lost",
                OperationCanceledException => "canceled",
                _ => "error",
            });
            if (!canceled)
            {
                activity.SetStatus(ActivityStatusCode.Error, error.GetType().Name);
            }
        }

        return false;
    }

    internal static string OutcomeTag(AcquireOutcome outcome) => outcome switch
    {
        AcquireOutcome.Acquired => "acquired",
        AcquireOutcome.Contended => "contended",
        _ => "quorum_unavailable",
    };
}

/// <summary>Tag (attribute) names on RedLockNet's metrics and spans, in OpenTelemetry's dotted lower-case style.</summary>
public static class RedLockTags
{
    /// <summary>What an operation came to (<c>acquired</c>, <c>contended</c>, <c>quorum_unavailable</c>, <c>canceled</c>, a tick outcome, ...).</summary>
    public const string Outcome = "redlock.outcome";

    /// <summary>Why a lock was lost.</summary>
    public const string Reason = "redlock.reason";

    /// <summary>The locked resource (spans only: unbounded cardinality).</summary>
    public const string Resource = "redlock.resource";

    /// <summary>Rounds a fencing token took to settle (1 or 2).</summary>
    public const string FencingRounds = "redlock.fencing.rounds";

    /// <summary>The leader election group.</summary>
    public const string Group = "redlock.group";

    /// <summary>A leadership term's event (<c>started</c>, or why it ended).</summary>
    public const string Event = "redlock.event";

    /// <summary>A cron job's name.</summary>
    public const string Job = "redlock.job";

    /// <summary>Nodes that said yes to the operation when it was decided (spans only).</summary>
    public const string VotesGranted = "redlock.votes.granted";

    /// <summary>Nodes that said no: the lock is another owner's there, or no longer ours (spans only).</summary>
    public const string VotesDenied = "redlock.votes.denied";

    /// <summary>Nodes that failed, timed out or are in quarantine when the operation was decided (spans only).</summary>
    public const string VotesFailed = "redlock.votes.failed";

    /// <summary>The replica identity of a leader (spans only).</summary>
    public const string Identity = "redlock.identity";

    /// <summary>A leadership term's epoch (spans only).</summary>
    public const string Epoch = "redlock.epoch";

    /// <summary>A cron tick's scheduled time, ISO 8601 (spans only).</summary>
    public const string FireTime = "redlock.fire_time";

    /// <summary>Whether a cron tick is a missed one run late by a new leader (spans only).</summary>
    public const string CatchUp = "redlock.catch_up";
}
