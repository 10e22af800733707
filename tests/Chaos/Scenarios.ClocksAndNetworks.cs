using System.Diagnostics;
using System.Globalization;
using RedLockNet.TestRig;

namespace RedLockNet.Chaos;

/// <summary>Scenarios h (clock step, emulated) and i (partitions through <see cref="FaultProxy"/>).</summary>
public sealed partial class Scenarios
{
    private static readonly TimeSpan OneHour = TimeSpan.FromHours(1);

    [Fact]
    public async Task H_control_clock_step_on_a_majority_breaks_mutual_exclusion()
    {
        var (rig, violations, mutex) = await ClockStepAsync("h-control", fencing: false);
        await using (rig)
        {
            Assert.NotEmpty(mutex); // Redlock's clock assumption matters: the checker sees two holders
            Assert.Contains(violations, v => v.StartsWith("lost-update", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task H_clock_step_on_a_majority_with_fencing_loses_no_update()
    {
        var (rig, violations, mutex) = await ClockStepAsync("h", fencing: true);
        await using (rig)
        {
            Assert.NotEmpty(mutex); // the overlap did happen (else this test would show nothing)...
            Assert.DoesNotContain(violations, v => !v.StartsWith("mutex", StringComparison.Ordinal)); // ...and fencing made it harmless
            Assert.Contains(rig.History.Snapshot(), e => e.Client == "holder" && e.Kind == "write-refused");
        }
    }

    [Fact]
    public async Task H_control_fenced_writes_alone_lose_an_update_when_both_holders_read_first()
    {
        // the same overlap; reads no longer register the token: the holder's write lands (its token is the highest
        // written so far) between the second client's read and write, and the second client's write, computed from
        // the same value, is accepted after it
        var (rig, violations, mutex) = await ClockStepAsync("h-write-only", fencing: true, fencedReads: false);
        await using (rig)
        {
            Assert.NotEmpty(mutex);
            Assert.Contains(violations, v => v.StartsWith("lost-update", StringComparison.Ordinal));
            Assert.Contains(rig.History.Snapshot(), e => e.Client == "holder" && e.Kind == "write-ok");
        }
    }

    [Fact]
    public async Task I1_a_holder_cut_off_from_a_majority_is_told_before_its_deadline()
    {
        var clock = Stopwatch.StartNew();
        var seed = Seed + 9;
        var ttl = TimeSpan.FromSeconds(2);
        await using var rig = await ChaosRig.StartAsync("i1", Bound());
        var holder = await rig.ProxiedAsync("holder", seed);
        var violations = new List<string>();

        // the holder takes the lock with auto-renewal and keeps it through at least one confirmed renewal
        var t0 = ChaosEvent.Now;
        var handle = await Bounded.Within(holder.Factory.AcquireAsync(rig.LockName, new LockRequest { Expiry = ttl, AutoRenew = true }, Bound()), TimeSpan.FromSeconds(10), "holder acquire");
        var acquiredAt = ChaosEvent.Now;
        var lostAt = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onLost = handle.LostToken.Register(() => lostAt.TrySetResult(ChaosEvent.Now));
        long deadline = acquiredAt + ChaosEvent.Ticks(handle.RemainingValidity);
        var sampling = Task.Run(async () =>
        {
            // the deadline only moves forward, at confirmed renewals: the last sample before the loss is the one to beat
            while (!handle.LostToken.IsCancellationRequested)
            {
                var now = ChaosEvent.Now;
                var left = handle.RemainingValidity;
                if (!handle.LostToken.IsCancellationRequested && left > TimeSpan.Zero)
                {
                    Volatile.Write(ref deadline, Math.Max(Volatile.Read(ref deadline), now + ChaosEvent.Ticks(left)));
                }

                await Task.Delay(10, CancellationToken.None);
            }
        }, CancellationToken.None);

        var contenders = new List<RedLockFactory> { await rig.FactoryAsync(), await rig.FactoryAsync() };
        using var stop = new CancellationTokenSource();
        var workers = contenders.Select((f, i) => rig.Worker($"c{i}", f, ttl, fencing: true, Think, TimeSpan.FromSeconds(3)).RunAsync(1000, TimeSpan.FromSeconds(30), stop.Token)).ToList();
        await Task.Delay(ttl * 0.75, Bound());

        holder.Cut(LinkFault.Blackhole, 0, 1);
        var cutAt = ChaosEvent.Now;
        var lost = await Bounded.Within(lostAt.Task, ttl * 2, "the holder's LostToken after the cut");
        await Bounded.Within(sampling, TimeSpan.FromSeconds(2), "deadline sampling");
        var until = Volatile.Read(ref deadline);
        if (lost > until)
        {
            violations.Add(string.Create(CultureInfo.InvariantCulture, $"lease: LostToken fired {ChaosEvent.Ms(lost - until):0} ms after the validity deadline"));
        }

        // the holder's hold, for the mutual-exclusion checker: it may act until its deadline, so nobody else may hold before it
        rig.History.Add(new ChaosEvent("holder", "acquired", acquiredAt, 0, T0: t0, ValidUntil: until));
        rig.History.Add(new ChaosEvent("holder", "valid", acquiredAt, 0));
        rig.History.Add(new ChaosEvent("holder", "released", until, 0));

        // contenders take over once the holder's keys expired, while it is still cut off; then the link heals
        var takeover = Stopwatch.StartNew();
        while (rig.History.CountBetween("acquired", until, long.MaxValue) == 0 && takeover.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50, Bound());
        }

        var tookOver = rig.History.Snapshot().Where(e => e.Kind == "acquired" && e.T > until).Select(e => e.T).DefaultIfEmpty(0).Min();
        holder.Heal();
        await Bounded.Within(handle.DisposeAsync().AsTask(), TimeSpan.FromSeconds(5), "releasing the lost handle");
        var again = rig.Worker("holder", holder.Factory, ttl, fencing: true, Think, TimeSpan.FromSeconds(8));
        await again.OneAsync(1, Bound());
        await stop.CancelAsync();
        await Bounded.Within(Task.WhenAll(workers), TimeSpan.FromSeconds(20), "contenders");

        var history = rig.History.Snapshot();
        violations.AddRange(Checkers.All(history, await rig.ReadCounterAsync(fencing: true)));
        if (tookOver == 0)
        {
            violations.Add("liveness: no contender acquired after the cut holder's deadline");
        }

        if (!history.Any(e => e.Client == "holder" && e.Op == 1 && e.Kind == "acquired"))
        {
            violations.Add("liveness: the holder did not acquire again after the heal");
        }

        rig.Report("i1 holder cut off from a majority (Blackhole), auto-renew", seed,
            string.Create(CultureInfo.InvariantCulture,
                $"cut {ChaosEvent.Ms(cutAt - acquiredAt):0} ms after acquire; LostToken {ChaosEvent.Ms(lost - cutAt):0} ms after the cut, {ChaosEvent.Ms(until - lost):0} ms before the deadline; takeover {(tookOver == 0 ? double.NaN : ChaosEvent.Ms(tookOver - until)):0} ms after it; {holder.Proxies.Sum(p => p.Resets)} links reset at heal"),
            clock.Elapsed, violations);
        Assert.Empty(violations);
    }

    [Fact]
    public async Task I2_grants_whose_replies_are_lost_block_nobody_past_the_ttl()
    {
        var clock = Stopwatch.StartNew();
        var seed = Seed + 9;
        var random = new Random(seed);
        var ttl = TimeSpan.FromSeconds(2);
        var bound = TimeSpan.FromSeconds(1.5);
        await using var rig = await ChaosRig.StartAsync("i2", Bound());
        var violations = new List<string>();
        var admins = new[] { await rig.AdminAsync(0), await rig.AdminAsync(1) };
        var lockKey = "redlock:{" + rig.LockName + "}";

        // 1. alone, with the replies of n0 and n1 dropped: its grants happen there, but it never learns of them
        var orphan = await rig.ProxiedAsync("orphan", seed);
        var other = await rig.FactoryAsync();
        orphan.Cut(LinkFault.DropReplies, 0, 1);
        var attempt = orphan.Factory.AcquireAsync(rig.LockName, new LockRequest { Expiry = ttl, WaitTimeout = TimeSpan.FromSeconds(1), AutoRenew = false }, Bound());
        var sawGrant = 0;
        while (!attempt.IsCompleted)
        {
            // a grant stands at least the node timeout (500 ms) before the abandoned attempt's release: poll both nodes at once, without pause
            var probes = await Bounded.Within(Task.WhenAll(admins.Select(a => a.GetDatabase().KeyExistsAsync(lockKey))), TimeSpan.FromSeconds(5), "probing n0/n1");
            sawGrant |= probes.Any(p => p) ? 1 : 0;
        }

        string outcome;
        try
        {
            await using var won = await Bounded.Within(attempt, TimeSpan.FromSeconds(10), "the orphaning acquire");
            outcome = "acquired";
            violations.Add("i2: an acquisition succeeded though only one node's replies could arrive");
        }
        catch (RedLockException ex)
        {
            outcome = ex.GetType().Name;
        }

        var failedAt = Stopwatch.StartNew();
        var left = await Task.WhenAll(admins.Select(a => Bounded.Within(a.GetDatabase().KeyTimeToLiveAsync(lockKey), TimeSpan.FromSeconds(5), "PTTL")));
        await using (var next = await Bounded.Within(other.AcquireAsync(rig.LockName, new LockRequest { Expiry = ttl, WaitTimeout = ttl + bound + bound, AutoRenew = false }, Bound()), ttl * 3, "the next holder"))
        {
        }

        var blocked = failedAt.Elapsed;
        if (blocked > ttl + bound)
        {
            violations.Add(string.Create(CultureInfo.InvariantCulture, $"liveness: the next client waited {blocked.TotalMilliseconds:0} ms > TTL + {bound.TotalMilliseconds} ms"));
        }

        if (sawGrant == 0)
        {
            violations.Add("i2: no grant was seen on n0/n1 while their replies were dropped (the scenario did not happen)");
        }

        orphan.Heal();
        var phase1 = string.Create(CultureInfo.InvariantCulture,
            $"orphan: grant {(sawGrant == 1 ? "seen" : "NOT seen")} on n0/n1, its acquire {outcome}; keys left after: {string.Join("/", left.Select(l => l is null ? "none" : $"{l.Value.TotalMilliseconds:0}ms"))}; next holder after {blocked.TotalMilliseconds:0} ms");

        // 2. three proxied contenders loop while, every ~1.2 s, one of them loses the replies of a random majority for 1 s
        var clients = new List<ProxiedClient>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(await rig.ProxiedAsync($"c{i}", seed + (10 * (i + 1))));
        }

        using var stop = new CancellationTokenSource();
        var workers = clients.Select(c => rig.Worker(c.Name, c.Factory, ttl, fencing: true, Think, TimeSpan.FromSeconds(3)).RunAsync(1000, TimeSpan.FromSeconds(30), stop.Token)).ToList();
        var windows = 0;
        for (var round = 0; round < 5; round++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200 + random.Next(400)), Bound());
            var victim = clients[random.Next(clients.Count)];
            var spared = random.Next(3);
            victim.Cut(LinkFault.DropReplies, [.. Enumerable.Range(0, 3).Where(n => n != spared)]);
            await Task.Delay(TimeSpan.FromSeconds(1), Bound());
            victim.Heal();
            windows++;
        }

        await Task.Delay(ttl, Bound());
        await stop.CancelAsync();
        await Bounded.Within(Task.WhenAll(workers), TimeSpan.FromSeconds(20), "contenders");

        var history = rig.History.Snapshot();
        violations.AddRange(Checkers.All(history, await rig.ReadCounterAsync(fencing: true)));
        var gap = LongestGap(history.Where(e => e.Client.StartsWith('c')).ToList());
        if (gap > (ttl + TimeSpan.FromSeconds(1) + bound).TotalMilliseconds)
        {
            violations.Add(string.Create(CultureInfo.InvariantCulture, $"liveness: no acquisition for {gap:0} ms (> TTL + 1 s window + {bound.TotalSeconds} s)"));
        }

        rig.Report("i2 lost replies (DropReplies) on a contender's majority", seed,
            string.Create(CultureInfo.InvariantCulture, $"{phase1}; then {windows} x 1 s DropReplies windows under 3 contenders, longest gap between acquisitions {gap:0} ms"),
            clock.Elapsed, violations);
        Assert.Empty(violations);
    }

    [Fact]
    public async Task I3_waiting_callers_cut_from_a_majority_fail_within_their_wait_and_succeed_after_heal()
    {
        var clock = Stopwatch.StartNew();
        var seed = Seed + 9;
        var ttl = TimeSpan.FromSeconds(3);
        var wait = TimeSpan.FromSeconds(3);
        var slack = TimeSpan.FromSeconds(1.5); // NodeTimeout (500 ms) for the last attempt, and a loaded machine
        await using var rig = await ChaosRig.StartAsync("i3", Bound());
        var violations = new List<string>();
        var holder = await rig.FactoryAsync();
        var waiters = new List<ProxiedClient> { await rig.ProxiedAsync("w0", seed), await rig.ProxiedAsync("w1", seed + 10) };

        var held = await Bounded.Within(holder.AcquireAsync(rig.LockName, new LockRequest { Expiry = ttl, AutoRenew = false }, Bound()), TimeSpan.FromSeconds(10), "holder acquire");
        var calls = waiters.SelectMany(w => Enumerable.Range(0, 2).Select(i => (Who: $"{w.Name}.{i}", Call: TimedAcquireAsync(w.Factory, rig.LockName, ttl, wait)))).ToList();
        await Task.Delay(300, Bound());
        foreach (var w in waiters)
        {
            w.Cut(LinkFault.Blackhole, 0, 1);
        }

        await Task.Delay(700, Bound());
        await Bounded.Within(held.ReleaseAsync(Bound()).AsTask(), TimeSpan.FromSeconds(5), "holder release");
        var outcomes = new List<string>();
        foreach (var (who, call) in calls)
        {
            var (outcome, took) = await Bounded.Within(call, wait + slack + TimeSpan.FromSeconds(5), $"waiting caller {who} (hang)");
            outcomes.Add(string.Create(CultureInfo.InvariantCulture, $"{who}: {outcome} after {took.TotalMilliseconds:0} ms"));
            if (outcome != nameof(QuorumUnavailableException))
            {
                violations.Add($"i3: {who} ended its wait with {outcome}, not QuorumUnavailableException");
            }

            if (took > wait + slack)
            {
                violations.Add(string.Create(CultureInfo.InvariantCulture, $"liveness: {who} failed after {took.TotalMilliseconds:0} ms > wait {wait.TotalMilliseconds} + {slack.TotalMilliseconds} ms"));
            }
        }

        foreach (var w in waiters)
        {
            w.Heal();
        }

        var after = waiters.SelectMany(w => Enumerable.Range(0, 2).Select(i => (Who: $"{w.Name}.{i}", Call: TimedAcquireAsync(w.Factory, rig.LockName, ttl, TimeSpan.FromSeconds(15))))).ToList();
        foreach (var (who, call) in after)
        {
            var (outcome, _) = await Bounded.Within(call, TimeSpan.FromSeconds(25), $"caller {who} after the heal (hang)");
            if (outcome != "acquired")
            {
                violations.Add($"liveness: {who} got {outcome} after the heal");
            }
        }

        rig.Report("i3 waiting callers cut from a majority (Blackhole)", seed,
            $"holder released during the cut; {string.Join("; ", outcomes)}; after heal all {after.Count} acquired",
            clock.Elapsed, violations);
        Assert.Empty(violations);
    }

    /// <summary>
    /// h and its controls: a holder's keys are cut short by an (emulated) clock step on n0 and n1 between its read and
    /// its write (it thinks 1.5 s); a second client then takes the lock, reads, thinks 2 s and writes.
    /// </summary>
    private static async Task<(ChaosRig Rig, List<string> Violations, List<string> Mutex)> ClockStepAsync(string name, bool fencing, bool fencedReads = true)
    {
        var clock = Stopwatch.StartNew();
        var seed = Seed + 8;
        var ttl = TimeSpan.FromSeconds(3);
        var rig = await ChaosRig.StartAsync(name, Bound());
        try
        {
            var holderLocks = await rig.FactoryAsync(o => o.Fencing = fencing);
            var secondLocks = await rig.FactoryAsync(o => o.Fencing = fencing);
            var read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var holder = rig.Worker(rig.Main, "holder", holderLocks, ttl, fencing, TimeSpan.FromMilliseconds(1500), TimeSpan.FromSeconds(5), e =>
            {
                if (e.Kind == "read")
                {
                    read.TrySetResult();
                }
            }, fencedReads);
            var holderTask = holder.OneAsync(0, Bound());
            await Bounded.Within(Task.WhenAny(read.Task, holderTask), TimeSpan.FromSeconds(10), "the holder's acquire and read");
            if (!read.Task.IsCompleted)
            {
                await holderTask;
                throw new InvalidOperationException("the holder did not take the lock: " + string.Join(", ", rig.History.Snapshot().Select(e => e.Kind)));
            }

            // step the clocks of two nodes that hold the holder's key (on a loaded machine a slow node's grant may have
            // been released, so its key is not on every node), and only this resource's keys (the nodes are shared)
            var holding = await rig.NodesHoldingAsync(rig.LockName);
            var stepped = (holding.Count >= 2 ? holding : [0, 1]).Take(2).ToList();
            var cut = 0;
            foreach (var node in stepped)
            {
                cut += await rig.StepClockAsync(node, OneHour, "*" + rig.LockName + "*");
            }

            var second = rig.Worker(rig.Main, "second", secondLocks, ttl, fencing, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), fencedReads: fencedReads);
            await second.OneAsync(0, Bound());
            await Bounded.Within(holderTask, TimeSpan.FromSeconds(20), "holder");

            var history = rig.History.Snapshot();
            var violations = Checkers.All(history, await rig.ReadCounterAsync(fencing));
            var mutex = Checkers.MutualExclusion(history);
            var stale = history.FirstOrDefault(e => e.Client == "holder" && e.Kind is "write-ok" or "write-refused");
            rig.Report($"{name} clock step +1h (emulated) on n{stepped[0]},n{stepped[1]} under the holder, fencing {(!fencing ? "off (control)" : fencedReads ? "on (reads and writes)" : "on writes only (control)")}", seed,
                $"{cut} keys cut; second client acquired: {history.Any(e => e.Client == "second" && e.Kind == "acquired")}; holder's write: {stale?.Kind ?? "none"}",
                clock.Elapsed, violations);
            return (rig, violations, mutex);
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    /// <summary>One AcquireAsync with a wait: "acquired" (held 20 ms, released) or the exception's type name, and how long it took.</summary>
    private static async Task<(string Outcome, TimeSpan Took)> TimedAcquireAsync(RedLockFactory locks, string resource, TimeSpan ttl, TimeSpan wait)
    {
        var call = Stopwatch.StartNew();
        try
        {
            await using var handle = await locks.AcquireAsync(resource, new LockRequest { Expiry = ttl, WaitTimeout = wait, AutoRenew = false }, Bound());
            var took = call.Elapsed;
            await Task.Delay(20, Bound());
            return ("acquired", took);
        }
        catch (RedLockException ex)
        {
            return (ex.GetType().Name, call.Elapsed);
        }
    }

    /// <summary>The longest time, in ms, between consecutive acquisitions (or releases and the next acquisition) of a history.</summary>
    private static double LongestGap(IReadOnlyList<ChaosEvent> history)
    {
        var times = history.Where(e => e.Kind is "acquired" or "released").Select(e => e.T).Order().ToList();
        return times.Count < 2 ? 0 : times.Zip(times.Skip(1), (a, b) => ChaosEvent.Ms(b - a)).Max();
    }
}
