using System.Globalization;

namespace RedLockNet.Chaos;

/// <summary>Checks a recorded history; each returns the violations it found (empty when none).</summary>
public static class Checkers
{
    /// <summary>
    /// A hold: from the acquisition's return to min(release start, validity deadline); only acquisitions whose
    /// EnsureValid passed. <paramref name="Begun"/> is when the acquire started (its grants on the nodes are made between).
    /// </summary>
    public sealed record Hold(string Client, int Op, long Begun, long Start, long End, long Token, long Value = 0);

    public static List<Hold> Holds(IReadOnlyList<ChaosEvent> history)
    {
        var holds = new List<Hold>();
        var byOp = history.Where(e => e.Kind is "acquired" or "valid" or "released").GroupBy(e => (e.Client, e.Op));
        foreach (var group in byOp)
        {
            var acquired = group.FirstOrDefault(e => e.Kind == "acquired");
            if (acquired is null || !group.Any(e => e.Kind == "valid"))
            {
                continue;
            }

            var released = group.FirstOrDefault(e => e.Kind == "released");
            var end = Math.Min(released?.T ?? long.MaxValue, acquired.ValidUntil);
            holds.Add(new Hold(acquired.Client, acquired.Op, acquired.T0, acquired.T, end, acquired.Token, acquired.Value));
        }

        return holds;
    }

    /// <summary>Two clients' holds that overlap: <paramref name="Later"/> acquired before <paramref name="Earlier"/> ended.</summary>
    public sealed record Overlap(Hold Earlier, Hold Later)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"mutex: {Earlier.Client}#{Earlier.Op} holds until +{ChaosEvent.Ms(Earlier.End - Later.Start):0} ms after {Later.Client}#{Later.Op} acquired");
    }

    /// <summary>Every pair of different clients' overlapping holds.</summary>
    public static List<Overlap> Overlaps(IReadOnlyList<ChaosEvent> history)
    {
        var holds = Holds(history).OrderBy(h => h.Start).ToList();
        var overlaps = new List<Overlap>();
        for (var i = 0; i < holds.Count; i++)
        {
            for (var j = i + 1; j < holds.Count && holds[j].Start < holds[i].End; j++)
            {
                if (holds[j].Client != holds[i].Client)
                {
                    overlaps.Add(new Overlap(holds[i], holds[j]));
                }
            }
        }

        return overlaps;
    }

    /// <summary>Mutual exclusion: no two clients' holds overlap.</summary>
    public static List<string> MutualExclusion(IReadOnlyList<ChaosEvent> history) => [.. Overlaps(history).Select(o => o.ToString())];

    /// <summary>
    /// A semaphore's bound: at no moment more than <paramref name="permits"/> holds at once (a hold ends where it ends in
    /// <see cref="Holds"/>: at its release or its validity deadline). Reports the first moment it was exceeded.
    /// </summary>
    public static List<string> MostAtOnce(IReadOnlyList<ChaosEvent> history, int permits)
    {
        var holds = Holds(history);
        var edges = holds.SelectMany(h => new[] { (T: h.Start, Step: 1), (T: h.End, Step: -1) }).OrderBy(e => e.T).ThenBy(e => e.Step); // ends first on a tie
        var inside = 0;
        foreach (var (t, step) in edges)
        {
            inside += step;
            if (inside > permits)
            {
                var crowd = holds.Where(h => h.Start <= t && h.End > t).Select(h => $"{h.Client}#{h.Op}");
                return [$"semaphore: {inside} holders of {permits} permits at once ({string.Join(", ", crowd)})"];
            }
        }

        return [];
    }

    /// <summary>
    /// A reader-writer lock's exclusion: no hold overlaps a writer's (a writer's acquisition is recorded with Value 1,
    /// a reader's with 0), so a writer holds alone and readers only share with readers.
    /// </summary>
    public static List<string> WriterAlone(IReadOnlyList<ChaosEvent> history)
    {
        var holds = Holds(history);
        return [.. holds.Where(w => w.Value == 1).SelectMany(w => holds
            .Where(o => o != w && o.Start < w.End && w.Start < o.End)
            .Select(o => string.Create(CultureInfo.InvariantCulture,
                $"reader-writer: writer {w.Client}#{w.Op} overlaps {(o.Value == 1 ? "writer" : "reader")} {o.Client}#{o.Op} by {ChaosEvent.Ms(Math.Min(w.End, o.End) - Math.Max(w.Start, o.Start)):0} ms")))];
    }

    /// <summary>Nothing hangs: no client operation outlived its bound (a "hang" event, recorded by the worker).</summary>
    public static List<string> Hangs(IReadOnlyList<ChaosEvent> history) =>
        [.. history.Where(e => e.Kind == "hang").Select(e => $"hang: {e.Client}#{e.Op} did not finish within its bound")];

    /// <summary>
    /// Fencing: no accepted write (certainly after another accepted one, by real time) carries a lower token; every
    /// refused write or read has a token below that of a write accepted, or a fenced read made, before the refusal returned.
    /// </summary>
    public static List<string> Fencing(IReadOnlyList<ChaosEvent> history)
    {
        var accepted = history.Where(e => e.Kind == "write-ok").ToList();
        var violations = new List<string>();
        foreach (var b in accepted)
        {
            foreach (var a in accepted)
            {
                if (a.T < b.T0 && b.Token < a.Token)
                {
                    violations.Add($"fencing: {b.Client}#{b.Op} token {b.Token} accepted after {a.Client}#{a.Op} token {a.Token}");
                }
            }
        }

        // a fenced read registers its token too (ChaosWorker.FencedReads), so a higher-token read also justifies a refusal
        var seen = history.Where(e => e.Kind is "write-ok" or "read").ToList();
        foreach (var r in history.Where(e => e.Kind is "write-refused" or "read-refused"))
        {
            if (!seen.Any(a => a.T0 < r.T && a.Token > r.Token))
            {
                violations.Add($"fencing: {r.Client}#{r.Op} token {r.Token} refused ({r.Kind}) though no higher token had been seen");
            }
        }

        return violations;
    }

    /// <summary>No lost updates: the final counter equals the accepted increments, and no value was written twice.</summary>
    public static List<string> LostUpdates(IReadOnlyList<ChaosEvent> history, long finalCounter)
    {
        var accepted = history.Where(e => e.Kind == "write-ok").ToList();
        var violations = new List<string>();
        if (finalCounter != accepted.Count)
        {
            violations.Add($"lost-update: final counter {finalCounter} but {accepted.Count} increments were acknowledged");
        }

        foreach (var dup in accepted.GroupBy(e => e.Value).Where(g => g.Count() > 1))
        {
            violations.Add($"lost-update: value {dup.Key} acknowledged {dup.Count()} times ({string.Join(", ", dup.Select(e => $"{e.Client}#{e.Op}"))})");
        }

        return violations;
    }

    /// <summary>EnsureValid never passed after the validity deadline the acquisition reported.</summary>
    public static List<string> ValidityUse(IReadOnlyList<ChaosEvent> history)
    {
        var deadlines = history.Where(e => e.Kind == "acquired").ToDictionary(e => (e.Client, e.Op), e => e.ValidUntil);
        return [.. history
            .Where(e => e.Kind == "valid" && deadlines.TryGetValue((e.Client, e.Op), out var until) && e.T > until)
            .Select(e => $"validity: {e.Client}#{e.Op} passed EnsureValid after its deadline")];
    }

    /// <summary>One run of a scheduled tick: which tick, by whom, under which epoch, when (timestamp).</summary>
    public sealed record TickRun(DateTimeOffset Tick, string Replica, long Epoch, bool IsCatchUp, long At)
    {
        public override string ToString() => $"{Replica} epoch {Epoch}{(IsCatchUp ? " catch-up" : string.Empty)}";
    }

    /// <summary>Each tick at most once: the ticks that ran more than once, with their runs in time order.</summary>
    public static List<(DateTimeOffset Tick, List<TickRun> Runs)> TicksRunTwice(IEnumerable<TickRun> runs) =>
        [.. runs.GroupBy(r => r.Tick).Where(g => g.Count() > 1).OrderBy(g => g.Key).Select(g => (g.Key, g.OrderBy(r => r.At).ToList()))];

    /// <summary>Every safety checker.</summary>
    public static List<string> Safety(IReadOnlyList<ChaosEvent> history, long? finalCounter) => [.. MutualExclusion(history), .. DataSafety(history, finalCounter)];

    /// <summary>
    /// Every checker that applies to a reader-writer lock whose writers do the read-modify-write: the writer holds alone
    /// (mutual exclusion would count readers sharing as a violation), fencing, validity use, lost updates, and nothing hung.
    /// </summary>
    public static List<string> ReaderWriter(IReadOnlyList<ChaosEvent> history, long finalCounter) => [.. WriterAlone(history), .. DataSafety(history, finalCounter), .. Hangs(history)];

    /// <summary>The safety checkers on what holders did with their holds: fencing, validity use, lost updates.</summary>
    private static List<string> DataSafety(IReadOnlyList<ChaosEvent> history, long? finalCounter) =>
    [
        .. Fencing(history),
        .. ValidityUse(history),
        .. finalCounter is { } c ? LostUpdates(history, c) : [],
    ];

    /// <summary>Every safety checker, and nothing hung.</summary>
    public static List<string> All(IReadOnlyList<ChaosEvent> history, long? finalCounter) => [.. Safety(history, finalCounter), .. Hangs(history)];
}
