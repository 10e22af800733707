using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.Election;
using RedLockNet.TestRig;

namespace RedLockNet.Chaos;

/// <summary>
/// Scenario j: a randomized nemesis for <c>REDLOCK_SOAK_SECONDS</c> (default 60) from seed <c>REDLOCK_SOAK_SEED</c>
/// (default <see cref="Scenarios.Seed"/> + 10), printed. One fault at a time, each healed within 3 s, 0.3-1.5 s apart:
/// kill -9 + restart empty of a node (restart quarantine on), SIGSTOP/SIGCONT of a node, an emulated forward clock
/// step of 1 h on 2 nodes or on 1 (<see cref="ClockStep"/>), a client cut from 1 or 2 nodes (Blackhole), a client's
/// replies lost from 1 or 2 nodes (DropReplies), a slow node (every client's link to it). 16 mutex workers (8
/// factories x 2, every factory through its own proxies) on 4 resources with fenced writes, and 3 replicas of a
/// leader-elected cron runner (each through its own proxies) running a per-second job. Checkers: fencing, lost
/// updates, validity use, hangs on every resource; mutual exclusion, where an overlap is expected only when a clock
/// step fell inside the earlier hold (reported apart as documented clock-step overlaps); each cron tick at most once,
/// with the same clock-step exception (a node that lost its data stays out of the tick markers for their retention).
/// </summary>
[Collection(nameof(Scenarios))]
public sealed class Soak
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Think = TimeSpan.FromMilliseconds(10);

    /// <summary>How long the cron runner keeps a tick's claim marker: misfire grace (1 min) + 2 leases + 1 min (JobRunLoop).</summary>
    private static readonly TimeSpan MarkerRetention = TimeSpan.FromMinutes(1) + Lease + Lease + TimeSpan.FromMinutes(1);

    /// <summary>Half the workers think longer between read and write, so faults land inside holds more often.</summary>
    private static readonly TimeSpan SlowThink = TimeSpan.FromMilliseconds(150);

    [Fact]
    public async Task J_randomized_nemesis_keeps_every_safety_property()
    {
        var duration = TimeSpan.FromSeconds(int.Parse(Environment.GetEnvironmentVariable("REDLOCK_SOAK_SECONDS") ?? "60", CultureInfo.InvariantCulture));
        var seed = int.Parse(Environment.GetEnvironmentVariable("REDLOCK_SOAK_SEED") ?? (Scenarios.Seed + 10).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        ChaosRig.Log($"soak: seed {seed}, {duration.TotalSeconds:0} s (REDLOCK_SOAK_SEED, REDLOCK_SOAK_SECONDS)");
        var clock = Stopwatch.StartNew();
        var random = new Random(seed);
        await using var rig = await ChaosRig.StartAsync("j", Scenarios.Bound(60));

        // quarantine covers the longest lock: the cron leader's lease
        // the nodes' standing as each client saw it (quarantines, rechecks), on the timeline, for explaining a violation
        var standing = new StandingLog();
        Action<RedLockOptions> Quarantined(string client) => o =>
        {
            o.RestartQuarantine = RestartQuarantineMode.WhenNotPersistent;
            o.RestartQuarantinePeriod = Lease + TimeSpan.FromSeconds(1);
            o.LoggerFactory = standing.For(client);
        };

        var clients = new List<ProxiedClient>();
        for (var i = 0; i < 8; i++)
        {
            clients.Add(await rig.ProxiedAsync($"f{i}", seed + (10 * (i + 1)), Quarantined($"f{i}")));
        }

        var replicas = new List<ProxiedClient>();
        for (var i = 0; i < 3; i++)
        {
            replicas.Add(await rig.ProxiedAsync($"replica-{i}", seed + (100 * (i + 1)), Quarantined($"replica-{i}")));
        }

        var links = clients.Concat(replicas).ToList();
        var groups = Enumerable.Range(0, 4).Select(r => rig.Group($"r{r}")).ToList();
        var ledger = new ConcurrentQueue<Checkers.TickRun>();
        var group = $"{rig.LockName}:cron";
        using var stopCron = new CancellationTokenSource();
        var runners = replicas.Select(r => new CronRunner(r.Factory, [TickJob(ledger)], new CronRunnerOptions
        {
            Election = new LeaderElectionOptions { Group = group, Identity = r.Name, LeaseDuration = Lease, RenewDeadline = TimeSpan.FromSeconds(2), RetryPeriod = TimeSpan.FromMilliseconds(500) },
        })).ToList();
        var cron = runners.Select(r => RunUntilStoppedAsync(r, stopCron)).ToList();

        // worker w of factory f works on resource (f + 2w) % 4: 4 workers per resource, from 4 different factories
        using var stop = new CancellationTokenSource();
        var workers = clients.SelectMany((c, f) => Enumerable.Range(0, 2).Select(w =>
        {
            var g = groups[(f + (2 * w)) % groups.Count];
            return rig.Worker(g, $"{c.Name}.{w}", c.Factory, Ttl, fencing: true, w == 0 ? Think : SlowThink, TimeSpan.FromSeconds(3)).RunAsync(int.MaxValue, duration + TimeSpan.FromSeconds(30), stop.Token);
        })).ToList();

        var nemesis = new Nemesis(rig, links, random);
        await nemesis.RunAsync(duration);

        // all healed; let the last holds and quarantines pass, then stop
        await Task.Delay(Lease + TimeSpan.FromSeconds(1), Scenarios.Bound());
        await stop.CancelAsync();
        await stopCron.CancelAsync();
        await Bounded.Within(Task.WhenAll(workers), TimeSpan.FromSeconds(30), "soak workers");
        await Bounded.Within(Task.WhenAll(cron), TimeSpan.FromSeconds(30), "cron runners");

        var violations = new List<string>();
        var documented = new List<string>();
        var details = new List<string>();
        foreach (var g in groups)
        {
            var history = g.History.Snapshot();
            var counter = await rig.ReadCounterAsync(g, fencing: true);
            violations.AddRange(Checkers.Fencing(history).Concat(Checkers.LostUpdates(history, counter)).Concat(Checkers.ValidityUse(history)).Concat(Checkers.Hangs(history)).Select(v => $"{g.Label}: {v}"));
            foreach (var overlap in Checkers.Overlaps(history))
            {
                var step = nemesis.ClockStepBetween(overlap.Earlier.Begun, overlap.Later.Start);
                (step is null ? violations : documented).Add($"{g.Label}: {overlap}{(step is null ? string.Empty : $" (after {step})")}");
                if (step is null)
                {
                    // where the two holds sit on the fault timeline, for whoever has to explain the overlap
                    details.Add($"{g.Label}: {nemesis.Describe(overlap.Earlier)} / {nemesis.Describe(overlap.Later)}");
                    details.AddRange(nemesis.Around(overlap.Earlier.Begun - ChaosEvent.Ticks(TimeSpan.FromSeconds(8)), overlap.Later.End).Select(f => "  near: " + f));
                    details.AddRange(standing.Between(overlap.Earlier.Begun - ChaosEvent.Ticks(TimeSpan.FromSeconds(8)), overlap.Later.End)
                        .Select(l => $"  standing: {nemesis.At(l.T)} {l.Line}"));
                    details.AddRange(history.Where(e => (e.Client, e.Op) == (overlap.Earlier.Client, overlap.Earlier.Op) || (e.Client, e.Op) == (overlap.Later.Client, overlap.Later.Op))
                        .Select(e => $"  event: {nemesis.At(e.T)} {e.Client}#{e.Op} {e.Kind} token={e.Token}{(e.Error is null ? string.Empty : " " + e.Error)}"));
                }
            }
        }

        // a tick's claim markers live MarkerRetention, longer than the locks' quarantine: a node that lost its data
        // does not answer for them until that has passed since the loss (QuarantineTests), so a rerun is a violation
        var ticks = ledger.Select(r => r.Tick).Distinct().Count();
        foreach (var (tick, runs) in Checkers.TicksRunTwice(ledger))
        {
            var line = $"cron: tick {tick:HH:mm:ss} ran {runs.Count} times ({string.Join(", ", runs)})";
            var step = nemesis.ClockStepBetween(runs[0].At - ChaosEvent.Ticks(Lease), runs[^1].At);
            if (step is null)
            {
                var restarted = nemesis.NodesRestartedBetween(runs[0].At - ChaosEvent.Ticks(MarkerRetention), runs[^1].At);
                violations.Add($"{line} (nodes restarted empty within the markers' retention: {(restarted.Count == 0 ? "none" : string.Join(",", restarted.Select(n => $"n{n}")))})");
            }
            else
            {
                documented.Add($"{line} (after {step})");
            }
        }

        var all = ChaosRig.Combined(groups);
        var acquired = all.Count(e => e.Kind == "acquired");
        if (acquired == 0 || ticks == 0)
        {
            violations.Add($"liveness: {acquired} acquisitions and {ticks} cron ticks in {duration.TotalSeconds:0} s");
        }

        var summary = string.Create(CultureInfo.InvariantCulture,
            $"seed {seed} | {duration.TotalSeconds:0} s | faults {nemesis.Summary()} | ops acq={acquired} fail={all.Count(e => e.Kind == "acquire-failed")} lost={all.Count(e => e.Kind == "lost")} ok={all.Count(e => e.Kind == "write-ok")} refused={all.Count(e => e.Kind == "write-refused")} errors={all.Count(e => e.Kind == "error")} cron-ticks={ticks} | violations {violations.Count} | documented clock-step overlaps {documented.Count}");
        rig.Report("j soak (randomized nemesis)", seed, nemesis.Summary(), clock.Elapsed, violations, all);
        ChaosRig.Log(summary);
        Console.WriteLine(summary);
        foreach (var d in documented.Take(10))
        {
            ChaosRig.Log("  documented: " + d);
        }

        File.AppendAllText(Path.Combine(AppContext.BaseDirectory, "chaos-results.log"), $"{DateTime.UtcNow:O} {rig.Backend} {summary}{Environment.NewLine}");
        File.AppendAllLines(Path.Combine(AppContext.BaseDirectory, "soak-details.log"),
            [$"== {DateTime.UtcNow:O} {rig.Backend} {summary}", .. nemesis.Timeline(), .. violations.Select(v => "violation: " + v), .. details, .. documented.Select(d => "documented: " + d)]);
        Assert.Empty(violations);
        Assert.True(clock.Elapsed < duration + TimeSpan.FromSeconds(90), $"the soak took {clock.Elapsed} for {duration}");
    }

    /// <summary>
    /// Control for the tick checker: two runners in different election groups both lead (their claims are kept beside
    /// their own group's lock), so each tick runs twice, and <see cref="Checkers.TicksRunTwice"/> must say so.
    /// </summary>
    [Fact]
    public async Task J_control_two_election_groups_run_each_tick_twice()
    {
        var clock = Stopwatch.StartNew();
        await using var rig = await ChaosRig.StartAsync("j-control", Scenarios.Bound(60));
        var ledger = new ConcurrentQueue<Checkers.TickRun>();
        using var stopCron = new CancellationTokenSource();
        var runs = new List<Task>();
        for (var i = 0; i < 2; i++)
        {
            var runner = new CronRunner(await rig.FactoryAsync(), [TickJob(ledger)], new CronRunnerOptions
            {
                Election = new LeaderElectionOptions { Group = $"{rig.LockName}:cron{i}", Identity = $"replica-{i}", LeaseDuration = Lease, RenewDeadline = TimeSpan.FromSeconds(2), RetryPeriod = TimeSpan.FromMilliseconds(500) },
            });
            runs.Add(RunUntilStoppedAsync(runner, stopCron));
        }

        var waited = Stopwatch.StartNew();
        while (Checkers.TicksRunTwice(ledger).Count < 2 && waited.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(100, Scenarios.Bound());
        }

        await stopCron.CancelAsync();
        await Bounded.Within(Task.WhenAll(runs), TimeSpan.FromSeconds(30), "cron runners");
        var twice = Checkers.TicksRunTwice(ledger);
        rig.Report("j-control: two election groups, one job", Scenarios.Seed + 10, "none (misconfiguration)", clock.Elapsed,
            [.. twice.Select(t => $"cron: tick {t.Tick:HH:mm:ss} ran {t.Runs.Count} times ({string.Join(", ", t.Runs)})")]);
        Assert.True(twice.Count >= 2, $"the checker found {twice.Count} ticks run twice");
    }

    /// <summary>The soak's per-second job: records each run in <paramref name="ledger"/>.</summary>
    private static CronJob TickJob(ConcurrentQueue<Checkers.TickRun> ledger) => CronJob.Create("tick", "* * * * * *", (ctx, ct) =>
    {
        ledger.Enqueue(new Checkers.TickRun(ctx.FireTime, ctx.ReplicaId, ctx.Epoch, ctx.IsCatchUp, ChaosEvent.Now));
        return Task.Delay(20, ct);
    });

    private static async Task RunUntilStoppedAsync(CronRunner runner, CancellationTokenSource stop)
    {
        try
        {
            await runner.RunAsync(stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>What the clients' libraries said about the nodes' standing (restart quarantine), with when.</summary>
    private sealed class StandingLog
    {
        private readonly ConcurrentQueue<(long T, string Line)> lines = new();

        public ILoggerFactory For(string client) => new ClientLog(this, client);

        public IEnumerable<(long T, string Line)> Between(long from, long to) => lines.Where(l => l.T >= from && l.T <= to).OrderBy(l => l.T);

        private sealed class ClientLog(StandingLog log, string client) : ILoggerFactory, ILogger
        {
            public ILogger CreateLogger(string categoryName) => this;

            public void AddProvider(ILoggerProvider provider)
            {
            }

            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (eventId.Id is 17 or 18) // Log.NodeQuarantined, Log.NodeRechecked
                {
                    log.lines.Enqueue((ChaosEvent.Now, $"{client}: {formatter(state, exception)}"));
                }
            }

            public void Dispose()
            {
            }
        }
    }

    /// <summary>One fault at a time on random nodes and clients, each healed within 3 s; remembers what it did and when.</summary>
    private sealed class Nemesis(ChaosRig rig, IReadOnlyList<ProxiedClient> links, Random random)
    {
        private readonly List<(string Kind, long Start, long End, string What)> faults = [];

        public async Task RunAsync(TimeSpan duration)
        {
            var end = Stopwatch.StartNew();
            while (end.Elapsed < duration)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(300 + random.Next(1200)), Scenarios.Bound());
                var hold = TimeSpan.FromMilliseconds(500 + random.Next(2500));
                var start = ChaosEvent.Now;
                var (kind, what) = random.Next(6) switch
                {
                    0 => await KillRestartAsync(hold),
                    1 => await PauseAsync(hold),
                    2 => await ClockStepAsync(),
                    3 => await CutAsync(LinkFault.Blackhole, "partition", hold),
                    4 => await CutAsync(LinkFault.DropReplies, "lost-replies", hold),
                    _ => await SlowAsync(hold),
                };
                faults.Add((kind, start, ChaosEvent.Now, what));
                ChaosRig.Log($"[nemesis] {kind}: {what}");
            }
        }

        /// <summary>The first clock step applied in [from, to], described; null when none.</summary>
        public string? ClockStepBetween(long from, long to) =>
            faults.Where(f => f.Kind.StartsWith("clock-step", StringComparison.Ordinal) && f.Start <= to && f.End >= from)
                .Select(f => $"{f.Kind} {f.What}").FirstOrDefault();

        /// <summary>The nodes killed and restarted empty in [from, to].</summary>
        public List<int> NodesRestartedBetween(long from, long to) =>
            [.. faults.Where(f => f.Kind == "kill-restart" && f.Start <= to && f.End >= from).Select(f => int.Parse(f.What[1..], CultureInfo.InvariantCulture)).Distinct().Order()];

        /// <summary><paramref name="t"/> as ms since the first fault (the timeline's origin).</summary>
        public string At(long t) => string.Create(CultureInfo.InvariantCulture, $"{ChaosEvent.Ms(t - Origin):0}");

        /// <summary>A hold's acquire start, acquisition and end on the timeline.</summary>
        public string Describe(Checkers.Hold hold) =>
            $"{hold.Client}#{hold.Op} begun {At(hold.Begun)} acquired {At(hold.Start)} ends {At(hold.End)} ms (token {hold.Token})";

        /// <summary>The faults that overlap [from, to], on the timeline.</summary>
        public IEnumerable<string> Around(long from, long to) => faults.Where(f => f.Start <= to && f.End >= from)
            .Select(f => $"{At(f.Start)}-{At(f.End)} ms: {f.Kind} {f.What}");

        private long Origin => faults.Count == 0 ? 0 : faults[0].Start;

        /// <summary>Every fault with its start and end, in ms since the first.</summary>
        public IEnumerable<string> Timeline() => faults.Select(f => string.Create(CultureInfo.InvariantCulture,
            $"fault {ChaosEvent.Ms(f.Start - faults[0].Start):0}-{ChaosEvent.Ms(f.End - faults[0].Start):0} ms (t={f.Start}): {f.Kind} {f.What}"));

        public string Summary() =>
            string.Join(", ", faults.GroupBy(f => f.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Count()}"));

        private int[] Nodes(int count) => [.. Enumerable.Range(0, 3).OrderBy(_ => random.Next()).Take(count).Order()];

        private async Task<(string, string)> KillRestartAsync(TimeSpan hold)
        {
            var n = random.Next(3);
            await rig.KillAsync(n);
            await Task.Delay(hold / 3, Scenarios.Bound());
            await rig.RestartAsync(n);
            return ("kill-restart", $"n{n}");
        }

        private async Task<(string, string)> PauseAsync(TimeSpan hold)
        {
            var n = random.Next(3);
            await rig.PauseAsync(n);
            await Task.Delay(hold, Scenarios.Bound());
            await rig.ResumeAsync(n);
            return ("pause", string.Create(CultureInfo.InvariantCulture, $"n{n} {hold.TotalMilliseconds:0} ms"));
        }

        private async Task<(string, string)> ClockStepAsync()
        {
            var nodes = Nodes(random.Next(2) == 0 ? 2 : 1);
            var cut = 0;
            foreach (var n in nodes)
            {
                cut += await rig.StepClockAsync(n, TimeSpan.FromHours(1));
            }

            return ($"clock-step-{nodes.Length}", $"+1h on {string.Join(",", nodes.Select(n => $"n{n}"))} ({cut} keys)");
        }

        private async Task<(string, string)> CutAsync(LinkFault fault, string kind, TimeSpan hold)
        {
            var client = links[random.Next(links.Count)];
            var nodes = Nodes(1 + random.Next(2));
            client.Cut(fault, nodes);
            await Task.Delay(hold, Scenarios.Bound());
            client.Heal();
            return (kind, string.Create(CultureInfo.InvariantCulture, $"{client.Name} from {string.Join(",", nodes.Select(n => $"n{n}"))} {hold.TotalMilliseconds:0} ms"));
        }

        private async Task<(string, string)> SlowAsync(TimeSpan hold)
        {
            var n = random.Next(3);
            foreach (var c in links)
            {
                c.Proxies[n].MinDelay = TimeSpan.FromMilliseconds(50);
                c.Proxies[n].MaxDelay = TimeSpan.FromMilliseconds(400);
                c.Proxies[n].Fault = LinkFault.Slow;
            }

            await Task.Delay(hold, Scenarios.Bound());
            foreach (var c in links)
            {
                c.Proxies[n].Fault = LinkFault.None;
            }

            return ("slow", string.Create(CultureInfo.InvariantCulture, $"n{n} 50-400 ms {hold.TotalMilliseconds:0} ms"));
        }
    }
}
