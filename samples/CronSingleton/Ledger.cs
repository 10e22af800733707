using System.Collections.Concurrent;
using System.Globalization;
using Cronos;
using RedLockNet.Hosting.Cron;

namespace CronSingleton;

/// <summary>What was due, what ran where, what was reported missed; and the summary at the end.</summary>
internal sealed class Ledger(string schedule)
{
    private readonly ConcurrentDictionary<DateTimeOffset, ConcurrentQueue<(string Replica, long Epoch, bool Late, DateTimeOffset At)>> _runs = new();
    private readonly ConcurrentDictionary<DateTimeOffset, ConcurrentQueue<CronTickEventArgs>> _settled = new();
    private readonly ConcurrentQueue<(string Replica, DateTimeOffset At)> _leaders = new();
    private DateTimeOffset _opened;
    private DateTimeOffset _closed;
    private (string Replica, DateTimeOffset At)? _crash;

    public string Schedule { get; } = schedule;

    public void Open() => _opened = DateTimeOffset.UtcNow;

    public void Close() => _closed = DateTimeOffset.UtcNow;

    public void Crashed(string replica) => _crash = (replica, DateTimeOffset.UtcNow);

    public bool HasCrashed(string replica) => _crash?.Replica == replica;

    public void Leading(string replica) => _leaders.Enqueue((replica, DateTimeOffset.UtcNow));

    public void Ran(CronJobContext context) =>
        _runs.GetOrAdd(context.FireTime, _ => new()).Enqueue((context.ReplicaId, context.Epoch, context.IsCatchUp, DateTimeOffset.UtcNow));

    public void Settled(CronTickEventArgs e) => _settled.GetOrAdd(e.FireTime, _ => new()).Enqueue(e);

    public void PrintSummary()
    {
        // a tick counts as due when it fell inside the run, with a moment's margin at the end for a run just starting
        var cron = CronExpression.Parse(Schedule, CronFormat.IncludeSeconds);
        var due = cron.GetOccurrences(_opened, _closed - TimeSpan.FromMilliseconds(250), TimeZoneInfo.Utc, fromInclusive: false, toInclusive: true).ToList();
        var ran = due.Where(_runs.ContainsKey).ToList();
        var duplicates = _runs.Values.Sum(r => Math.Max(0, r.Count - 1));
        var missed = due.Where(t => !_runs.ContainsKey(t)).ToList();
        var late = _runs.Values.SelectMany(r => r).Count(r => r.Late);

        Console.WriteLine();
        Console.WriteLine($"summary: job '{Schedule}', {(_closed - _opened).TotalSeconds:0} s");
        Console.WriteLine($"  ticks due:     {due.Count}");
        Console.WriteLine($"  ticks run:     {ran.Count}{(late > 0 ? $" ({late} of them late, caught up by a new leader within the misfire grace)" : string.Empty)}");
        foreach (var group in due.Where(_runs.ContainsKey).SelectMany(t => _runs[t]).GroupBy(r => r.Replica).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var epochs = string.Join(", ", group.Select(r => r.Epoch).Distinct());
            Console.WriteLine($"    {group.Key}: {group.Count()} run(s), epoch {epochs}");
        }

        Console.WriteLine($"  duplicates:    {duplicates}");
        foreach (var (tick, runs) in _runs.Where(p => p.Value.Count > 1))
        {
            Console.WriteLine($"    {Local(tick)}: ran on {string.Join(" and ", runs.Select(r => r.Replica))}");
        }

        Console.WriteLine($"  ticks missed:  {missed.Count}");
        foreach (var tick in missed)
        {
            var why = _settled.TryGetValue(tick, out var reports) && reports.FirstOrDefault(r => r.Outcome != CronTickOutcome.ClaimedElsewhere) is { } report
                ? $"{report.Outcome} on {report.ReplicaId}{(report.Detail is null ? string.Empty : ": " + report.Detail)}"
                : "no replica led at the time and none caught it up";
            Console.WriteLine($"    {Local(tick)}: {why}");
        }

        if (_crash is { } crash)
        {
            var newLeader = _leaders.FirstOrDefault(l => l.At > crash.At && l.Replica != crash.Replica);
            var nextRun = _runs.Values.SelectMany(r => r).Where(r => r.At > crash.At && r.Replica != crash.Replica).OrderBy(r => r.At).FirstOrDefault();
            Console.WriteLine($"  failover:      {crash.Replica} crashed at {Local(crash.At)}; " +
                (newLeader.Replica is null ? "no new leader" : $"{newLeader.Replica} led after {(newLeader.At - crash.At).TotalSeconds:0.0} s") +
                (nextRun.Replica is null ? string.Empty : $", next tick run after {(nextRun.At - crash.At).TotalSeconds:0.0} s"));
        }
    }

    private static string Local(DateTimeOffset time) => time.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
}
