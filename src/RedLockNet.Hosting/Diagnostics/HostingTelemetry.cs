using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using RedLockNet.Diagnostics;

namespace RedLockNet.Hosting.Diagnostics;

/// <summary>
/// Metrics and spans of leader election and the cron runner, on the <c>RedLockNet</c> meter and activity source.
/// Reasons and outcomes come in as their names (the tag values), so this folder depends on neither the election nor
/// the cron runner.
/// </summary>
internal static class HostingTelemetry
{
    private static Meter Meter => RedLockTelemetry.Meter;

    private static readonly Counter<long> Terms = Meter.CreateCounter<long>(
        "redlock.leader.terms", unit: "{term}", description: "Leadership terms started and ended by this process, by group and event.");

    private static readonly Counter<long> Ticks = Meter.CreateCounter<long>(
        "redlock.cron.ticks", unit: "{tick}", description: "Cron ticks settled by this process, by job and outcome.");

    public static void TermStarted(string group) =>
        Terms.Add(1, new KeyValuePair<string, object?>(RedLockTags.Group, group), new KeyValuePair<string, object?>(RedLockTags.Event, "started"));

    public static void TermEnded(string group, string reason) =>
        Terms.Add(1, new KeyValuePair<string, object?>(RedLockTags.Group, group), new KeyValuePair<string, object?>(RedLockTags.Event, reason));

    public static void TickSettled(string job, string outcome) =>
        Ticks.Add(1, new KeyValuePair<string, object?>(RedLockTags.Job, job), new KeyValuePair<string, object?>(RedLockTags.Outcome, outcome));

    /// <summary>
    /// Starts the span of a leadership term (<c>redlock.leader.term</c>; dispose it when the term is over). A term may
    /// last for hours, so it is not made the ambient span: the leader's work does not become one endless trace.
    /// </summary>
    public static Activity? StartTerm(string group, string identity, long epoch)
    {
        var ambient = Activity.Current;
        var activity = RedLockTelemetry.ActivitySource.StartActivity("redlock.leader.term", ActivityKind.Internal);
        Activity.Current = ambient;
        activity?.SetTag(RedLockTags.Group, group);
        activity?.SetTag(RedLockTags.Identity, identity);
        activity?.SetTag(RedLockTags.Epoch, epoch);
        return activity;
    }

    /// <summary>Tags a term's span with why it ended.</summary>
    public static void TermEnded(Activity? activity, string reason) => activity?.SetTag(RedLockTags.Event, reason);

    /// <summary>
    /// Starts the span of one run of a claimed cron tick (<c>redlock.cron.tick</c>); the job's own spans nest under it.
    /// </summary>
    public static Activity? StartTick(string job, DateTimeOffset fireTime, long epoch, bool isCatchUp)
    {
        var activity = RedLockTelemetry.ActivitySource.StartActivity("redlock.cron.tick", ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(RedLockTags.Job, job);
            activity.SetTag(RedLockTags.FireTime, fireTime.ToString("O", CultureInfo.InvariantCulture));
            activity.SetTag(RedLockTags.Epoch, epoch);
            activity.SetTag(RedLockTags.CatchUp, isCatchUp);
        }

        return activity;
    }

    /// <summary>Records a tick span's outcome (and the job's exception, when it failed).</summary>
    public static void TickOutcome(Activity? activity, string outcome, Exception? exception = null)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(RedLockTags.Outcome, outcome);
        if (exception is not null)
        {
            activity.AddException(exception);
            activity.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
        }
    }
}
