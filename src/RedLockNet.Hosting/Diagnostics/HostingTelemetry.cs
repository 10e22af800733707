using System.Diagnostics.Metrics;

namespace RedLockNet.Hosting.Diagnostics;

/// <summary>Metrics of leader election and the cron runner, on the <c>RedLockNet</c> meter.</summary>
internal static class HostingTelemetry
{
    private static readonly Meter Meter = new(RedLockNet.Diagnostics.RedLockTelemetry.Name);

    private static readonly Counter<long> Terms = Meter.CreateCounter<long>(
        "redlock.leader.terms", unit: "{term}", description: "Leadership terms started and ended by this process, by group and event.");

    private static readonly Counter<long> Ticks = Meter.CreateCounter<long>(
        "redlock.cron.ticks", unit: "{tick}", description: "Cron ticks settled by this process, by job and outcome.");

    public static void TermStarted(string group) =>
        Terms.Add(1, new KeyValuePair<string, object?>("redlock.group", group), new KeyValuePair<string, object?>("redlock.event", "started"));

    public static void TermEnded(string group, Election.LeadershipEndReason reason) =>
        Terms.Add(1, new KeyValuePair<string, object?>("redlock.group", group), new KeyValuePair<string, object?>("redlock.event", reason.ToString()));

    public static void TickSettled(string job, Cron.CronTickOutcome outcome) =>
        Ticks.Add(1, new KeyValuePair<string, object?>("redlock.job", job), new KeyValuePair<string, object?>("redlock.outcome", outcome.ToString()));
}
