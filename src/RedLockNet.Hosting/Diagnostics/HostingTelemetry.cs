using System.Diagnostics.Metrics;
using RedLockNet.Diagnostics;

namespace RedLockNet.Hosting.Diagnostics;

/// <summary>
/// Metrics of leader election and the cron runner, on the <c>RedLockNet</c> meter. Reasons and outcomes come in as
/// their names (the tag values), so this folder depends on neither the election nor the cron runner.
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
}
