using System.Diagnostics;
using System.Globalization;

namespace RedLockNet.Chaos;

/// <summary>
/// The Redlock restart scenario (a and b) against the semaphore and the reader-writer lock: a node that lost the
/// holders' keys must not let a third party in. Each primitive's grants go through the lock's epoch-checked path, so
/// restart quarantine applies; the controls, without it, show the violation it prevents. P pauses a node under both
/// primitives; K and L pause a client process holding a semaphore permit or the write lock past its TTL (as E and F
/// do for the plain lock).
/// </summary>
public sealed partial class Scenarios
{
    private static readonly TimeSpan LongHold = TimeSpan.FromSeconds(30); // outlives two restarts (a Garnet node is a new process) and the 6 s try

    [Fact]
    public async Task S_semaphore_restart_empty_with_quarantine_keeps_two_permits_to_two_holders()
    {
        var (holders, third, detail) = await SemaphoreRestartEmptyAsync("s", RestartQuarantineMode.WhenNotPersistent);
        Assert.True(third is null, $"a third holder of 2 permits ({detail})");
        Assert.Equal(2, holders);
    }

    [Fact]
    public async Task S_control_semaphore_restart_empty_without_quarantine_lets_a_third_holder_in()
    {
        var (holders, third, detail) = await SemaphoreRestartEmptyAsync("s-control", RestartQuarantineMode.Off);
        Assert.True(third is not null && holders == 2, $"the control found no third holder ({detail})");
    }

    [Fact]
    public async Task R_reader_writer_restart_empty_with_quarantine_keeps_the_writer_out_while_a_reader_holds()
    {
        var (writer, detail) = await ReaderWriterRestartEmptyAsync("r", RestartQuarantineMode.WhenNotPersistent);
        Assert.True(writer is null, $"a writer got in beside a reader ({detail})");
    }

    [Fact]
    public async Task R_control_reader_writer_restart_empty_without_quarantine_lets_a_writer_in_beside_a_reader()
    {
        var (writer, detail) = await ReaderWriterRestartEmptyAsync("r-control", RestartQuarantineMode.Off);
        Assert.True(writer is not null, $"the control found no writer beside the reader ({detail})");
    }

    /// <summary>
    /// Semaphore (2 permits) and reader-writer clients loop on 4 factories while a random node is paused (SIGSTOP) for
    /// twice the lease and resumed, then a random node is killed -9 and restarted empty (quarantine on). Checkers: never
    /// more than 2 permit holders at once, a writer always alone, nothing hung, and both kept being served while the
    /// node was paused.
    /// </summary>
    [Fact]
    public async Task P_pause_a_node_past_the_ttl_then_restart_one_empty_keeps_the_semaphore_bound_and_writers_alone()
    {
        var clock = Stopwatch.StartNew();
        var seed = Seed + 42;
        var random = new Random(seed);
        var ttl = TimeSpan.FromMilliseconds(1500);
        await using var rig = await ChaosRig.StartAsync("p", Bound());
        var factories = new List<RedLockFactory>();
        for (var i = 0; i < 4; i++)
        {
            factories.Add(await rig.FactoryAsync(o => Quarantine(o, RestartQuarantineMode.WhenNotPersistent, ttl)));
        }

        var semaphore = rig.Group("sem");
        var readerWriter = rig.Group("rw");
        var request = new LockRequest { Expiry = ttl, AutoRenew = false, WaitTimeout = TimeSpan.FromSeconds(2) };
        using var stop = new CancellationTokenSource();
        var workers = factories.SelectMany((f, i) => new[]
        {
            new PrimitiveWorker($"s{i}", seed + i, async (_, ct) => await f.TryAcquireSemaphoreAsync(semaphore.LockName, 2, request, ct), semaphore.History.Add).RunAsync(stop.Token),
            new PrimitiveWorker($"rw{i}", seed + 10 + i, async (write, ct) => write
                ? await f.TryAcquireWriteAsync(readerWriter.LockName, request, ct)
                : await f.TryAcquireReadAsync(readerWriter.LockName, request, ct), readerWriter.History.Add).RunAsync(stop.Token),
        }).ToList();

        await Task.Delay(TimeSpan.FromMilliseconds(1000 + random.Next(1000)), Bound());
        var paused = random.Next(3);
        await rig.PauseAsync(paused);
        var pausedAt = ChaosEvent.Now;
        await Task.Delay(ttl * 2, Bound());
        var resumedAt = ChaosEvent.Now;
        await rig.ResumeAsync(paused);
        await Task.Delay(TimeSpan.FromMilliseconds(500 + random.Next(1000)), Bound());
        var killed = random.Next(3);
        await rig.KillAsync(killed);
        await rig.RestartAsync(killed);
        await Task.Delay(TimeSpan.FromSeconds(2), Bound());
        await stop.CancelAsync();
        await Bounded.Within(Task.WhenAll(workers), TimeSpan.FromSeconds(20), "primitive workers");

        var semaphoreHistory = semaphore.History.Snapshot();
        var readerWriterHistory = readerWriter.History.Snapshot();
        var violations = new List<string>();
        violations.AddRange(Checkers.MostAtOnce(semaphoreHistory, 2));
        violations.AddRange(Checkers.WriterAlone(readerWriterHistory));
        violations.AddRange(Checkers.Hangs([.. semaphoreHistory, .. readerWriterHistory]));
        var permitsDuringPause = semaphoreHistory.Count(e => e.Kind == "acquired" && e.T > pausedAt && e.T < resumedAt);
        var locksDuringPause = readerWriterHistory.Count(e => e.Kind == "acquired" && e.T > pausedAt && e.T < resumedAt);
        if (permitsDuringPause == 0 || locksDuringPause == 0)
        {
            violations.Add($"liveness: {permitsDuringPause} permits and {locksDuringPause} reader-writer grants while a minority node was paused");
        }

        var writes = readerWriterHistory.Count(e => e.Kind == "acquired" && e.Value == 1);
        var faults = string.Create(CultureInfo.InvariantCulture,
            $"SIGSTOP n{paused} {ttl.TotalMilliseconds * 2:0} ms, then kill-9+restart-empty n{killed}; permits {semaphoreHistory.Count(e => e.Kind == "acquired")} ({permitsDuringPause} during the pause), rw {readerWriterHistory.Count(e => e.Kind == "acquired")} ({writes} writes, {locksDuringPause} during the pause)");
        rig.Report("p semaphore+rw: SIGSTOP node past TTL, restart-empty", seed, faults, clock.Elapsed, violations, [.. semaphoreHistory, .. readerWriterHistory]);
        Assert.Empty(violations);
    }

    /// <summary>
    /// A ChaosClient process holding one of 2 semaphore permits (TTL 2 s) is SIGSTOPped for 2 x TTL + 500 ms while 3
    /// in-process clients keep taking permits; after SIGCONT it checks its permit before acting. Checkers: never more
    /// than 2 holders with validity left, the process reported its permit lost (EnsureValid threw) and never passed
    /// EnsureValid past its deadline, the others got permits during the pause and held both at once while the process
    /// believed it held one (its slot was taken over), nothing hung.
    /// </summary>
    [Fact]
    public async Task K_paused_client_process_holding_a_semaphore_permit_finds_it_lost_and_the_bound_holds()
    {
        var clock = Stopwatch.StartNew();
        var seed = Seed + 43;
        var ttl = TimeSpan.FromSeconds(2);
        await using var rig = await ChaosRig.StartAsync("k", Bound());
        var request = new LockRequest { Expiry = ttl, AutoRenew = false, WaitTimeout = TimeSpan.FromSeconds(2) };
        var client = await PauseClientProcessAsync(rig, ttl, fencing: true, "holding", ["--primitive", "semaphore", "--max-count", "2", "--seed", $"{seed}"], async stop =>
        {
            var workers = new List<Task>();
            for (var i = 0; i < 3; i++)
            {
                var f = await rig.FactoryAsync();
                workers.Add(new PrimitiveWorker($"s{i}", seed + 1 + i, async (_, ct) => await f.TryAcquireSemaphoreAsync(rig.LockName, 2, request, ct), rig.History.Add) { WriteOneIn = 0 }.RunAsync(stop));
            }

            return workers;
        });

        var history = rig.History.Snapshot();
        var violations = new List<string>();
        violations.AddRange(Checkers.MostAtOnce(history, 2));
        violations.AddRange(Checkers.ValidityUse(history));
        violations.AddRange(Checkers.Hangs(history));
        violations.AddRange(client.Violations);
        var resumed = history.Where(e => e.Client == "proc" && e.Op == 0 && e.Kind is "valid" or "lost" && e.T > client.PausedAt).ToList();
        if (!resumed.Any(e => e.Kind == "lost"))
        {
            violations.Add($"semaphore: the resumed process did not report its permit lost ({string.Join(", ", resumed.Select(e => e.Kind))})");
        }

        // what a client that ignored its validity would believe, its permit held until its release: the same checker
        // must then find 3 holders, or the others never took its slot while it was paused and the run showed nothing
        var believed = history.Select(e => e is { Client: "proc", Op: 0, Kind: "acquired" } ? e with { ValidUntil = long.MaxValue } : e).ToList();
        var takenOver = Checkers.MostAtOnce(believed, 2).Count > 0;
        var others = history.Count(e => e.Client != "proc" && e.Kind == "acquired" && e.T > client.PausedAt && e.T < client.ResumedAt);
        if (others == 0 || !takenOver)
        {
            violations.Add($"liveness: {others} permits to the others during the pause; both permits held by others while the process believed it held one: {takenOver}");
        }

        rig.Report("k SIGSTOP semaphore-holding client (2 permits)", seed,
            $"{client}; {others} permits to the others during it (3 holders had the process's validity been ignored: {takenOver}); the process on resume: {resumed.FirstOrDefault()?.Kind ?? "nothing"} ({resumed.FirstOrDefault()?.Error})",
            clock.Elapsed, violations);
        Assert.Empty(violations);
    }

    [Fact]
    public async Task L_paused_client_process_holding_the_write_lock_has_its_stale_write_refused_with_fencing()
    {
        var (violations, history) = await PausedWriterAsync("l", fencing: true);
        Assert.Empty(violations);
        Assert.Contains(history, e => e.Client == "proc" && e.Op == 0 && e.Kind == "write-refused");
    }

    [Fact]
    public async Task L_control_paused_writer_without_fencing_loses_an_update()
    {
        var (violations, _) = await PausedWriterAsync("l-control", fencing: false);
        Assert.Contains(violations, v => v.StartsWith("lost-update", StringComparison.Ordinal));
    }

    /// <summary>
    /// A ChaosClient process holding the write lock of a reader-writer lock (TTL 2 s) reads the counter and is
    /// SIGSTOPped for 2 x TTL + 500 ms between its read and its write, while 2 in-process writers (the same
    /// read-modify-write, fenced when <paramref name="fencing"/>) and 2 in-process readers continue; after SIGCONT it
    /// writes value + 1. Checkers: a writer holds alone, fencing, validity use, lost updates, hangs, and writers and
    /// readers were served during the pause. With fencing the stale write is refused; without it (the control) it
    /// rolls the counter back.
    /// </summary>
    private static async Task<(List<string> Violations, IReadOnlyList<ChaosEvent> History)> PausedWriterAsync(string name, bool fencing)
    {
        var clock = Stopwatch.StartNew();
        var seed = Seed + (fencing ? 44 : 45);
        var ttl = TimeSpan.FromSeconds(2);
        await using var rig = await ChaosRig.StartAsync(name, Bound());
        var read = new LockRequest { Expiry = ttl, AutoRenew = false, WaitTimeout = TimeSpan.FromSeconds(2) };
        var client = await PauseClientProcessAsync(rig, ttl, fencing, "read", ["--primitive", "write"], async stop =>
        {
            var workers = new List<Task>();
            for (var i = 0; i < 2; i++)
            {
                var f = await rig.FactoryAsync(o => o.Fencing = fencing);
                workers.Add(rig.Worker(rig.Main, $"w{i}", f, ttl, fencing, Think, TimeSpan.FromSeconds(5), writes: true).RunAsync(1000, TimeSpan.FromSeconds(30), stop));
                workers.Add(new PrimitiveWorker($"r{i}", seed + 1 + i, async (_, ct) => await f.TryAcquireReadAsync(rig.LockName, read, ct), rig.History.Add) { WriteOneIn = 0 }.RunAsync(stop));
            }

            return workers;
        });

        var history = rig.History.Snapshot();
        var violations = Checkers.ReaderWriter(history, await rig.ReadCounterAsync(fencing));
        violations.AddRange(client.Violations);
        var duringPause = history.Where(e => e.Client != "proc" && e.Kind == "acquired" && e.T > client.PausedAt && e.T < client.ResumedAt).ToList();
        var (writes, reads) = (duringPause.Count(e => e.Value == 1), duringPause.Count(e => e.Value == 0));
        if (writes == 0 || reads == 0)
        {
            violations.Add($"liveness: {writes} write and {reads} read grants to the others during the pause");
        }

        var stale = history.FirstOrDefault(e => e.Client == "proc" && e.Op == 0 && e.Kind is "write-ok" or "write-refused");
        rig.Report($"{name} SIGSTOP write-lock-holding client, fencing {(fencing ? "on" : "off (control)")}", seed,
            $"{client}; {writes} writes and {reads} reads granted to the others during it; its stale write: {stale?.Kind ?? "none"}",
            clock.Elapsed, violations);
        return (violations, history);
    }

    /// <summary>
    /// Two clients take both permits of a semaphore while node 2 is down, so their slots stand on nodes 0 and 1.
    /// Node 2 comes back empty and node 1 is restarted empty: the slots now stand on node 0 only. A third client, which
    /// knew every node before, then tries for 6 s. Returns how many of the two first holders are still valid when it
    /// got in (or gave up), and its permit.
    /// </summary>
    private static async Task<(int Holders, ISemaphoreHandle? Third, string Detail)> SemaphoreRestartEmptyAsync(string name, RestartQuarantineMode mode)
    {
        var clock = Stopwatch.StartNew();
        await using var rig = await ChaosRig.StartAsync(name, Bound());
        var clients = new List<RedLockFactory>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(await rig.FactoryAsync(o => Quarantine(o, mode, LongHold)));
        }

        var hold = new LockRequest { Expiry = LongHold, AutoRenew = false, WaitTimeout = TimeSpan.FromSeconds(10) };
        await rig.KillAsync(2);
        await using var a = await clients[0].AcquireSemaphoreAsync(rig.LockName, 2, hold, Bound());
        await using var b = await clients[1].AcquireSemaphoreAsync(rig.LockName, 2, hold, Bound());
        await rig.RestartAsync(2);
        await rig.KillAsync(1);
        await rig.RestartAsync(1);

        var (third, outcome) = await TryOrRefusalAsync(clients[2].TryAcquireSemaphoreAsync(rig.LockName, 2, hold with { WaitTimeout = TimeSpan.FromSeconds(6) }, Bound()));

        var holders = new[] { a, b }.Count(h => h.RemainingValidity > TimeSpan.Zero);
        var detail = $"slots {a.Slot} and {b.Slot} held, {holders} still valid; third: {(third is null ? outcome : $"slot {third.Slot}")}";
        rig.Report($"{name}: semaphore of 2, restart-empty, quarantine {mode}", Seed + 40, "n2 down during the grants, n2 back empty, n1 kill-9+restart-empty", clock.Elapsed,
            third is not null && holders == 2 ? [$"semaphore: 3 holders of 2 permits ({detail})"] : []);
        if (third is not null)
        {
            await third.DisposeAsync();
        }

        return (holders, third, detail);
    }

    /// <summary>
    /// The same with a reader-writer lock: a reader holds while node 2 is down; node 2 comes back empty and node 1 is
    /// restarted empty, so the reader's key stands on node 0 only. A writer that knew every node tries for 6 s.
    /// </summary>
    private static async Task<(ILockHandle? Writer, string Detail)> ReaderWriterRestartEmptyAsync(string name, RestartQuarantineMode mode)
    {
        var clock = Stopwatch.StartNew();
        await using var rig = await ChaosRig.StartAsync(name, Bound());
        var reading = await rig.FactoryAsync(o => Quarantine(o, mode, LongHold));
        var writing = await rig.FactoryAsync(o => Quarantine(o, mode, LongHold));
        var hold = new LockRequest { Expiry = LongHold, AutoRenew = false, WaitTimeout = TimeSpan.FromSeconds(10) };
        await rig.KillAsync(2);
        await using var reader = await reading.AcquireReadAsync(rig.LockName, hold, Bound());
        await rig.RestartAsync(2);
        await rig.KillAsync(1);
        await rig.RestartAsync(1);

        var (writer, outcome) = await TryOrRefusalAsync(writing.TryAcquireWriteAsync(rig.LockName, hold with { WaitTimeout = TimeSpan.FromSeconds(6) }, Bound()));

        var both = writer is not null && reader.RemainingValidity > TimeSpan.Zero;
        var detail = $"reader valid {reader.RemainingValidity > TimeSpan.Zero}; writer: {outcome}";
        rig.Report($"{name}: reader-writer, restart-empty, quarantine {mode}", Seed + 41, "n2 down during the read grant, n2 back empty, n1 kill-9+restart-empty", clock.Elapsed,
            both ? [$"reader-writer: a writer beside a valid reader ({detail})"] : []);
        if (writer is not null)
        {
            await writer.DisposeAsync();
        }

        return (both ? writer : null, detail);
    }

    /// <summary>The third party's try: its handle (null when refused) and, for the report, how it ended.</summary>
    private static async Task<(T? Handle, string Outcome)> TryOrRefusalAsync<T>(Task<T?> attempt)
        where T : class
    {
        try
        {
            var handle = await attempt;
            return (handle, handle is null ? "contended" : "granted");
        }
        catch (QuorumUnavailableException ex)
        {
            return (null, "quorum unavailable: " + string.Join("; ", ex.Failures.Select(f => $"{f.Node} {f.Kind}")));
        }
    }
}
