using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace RedLockNet.Benchmarks.Load;

/// <summary>
/// Not a BenchmarkDotNet benchmark: <c>load</c> runs RedLockNet, DistributedLock.Redis, RedLock.net and a bare
/// StackExchange.Redis floor (<see cref="FloorLock"/>) in one process against the same 3 redis-server nodes, round by
/// round; in each round every scenario runs once per client, in an order that rotates from round to round, and every
/// figure is divided by the floor's figure of the same round. The summary is the median (min–max) over rounds.
/// </summary>
internal static class LoadHarness
{
    private const int ContentionCallers = 8;
    private const int ThroughputCallers = 64;

    /// <summary>Every caller loop also stops after this many iterations, whatever the time.</summary>
    private const int MaxIterations = 10_000_000;

    private static readonly TimeSpan ContentionWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan HoldTime = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan HolderExpiry = TimeSpan.FromMinutes(10);

    /// <summary>How long concurrent callers may run past their scenario's end before the run is declared hung.</summary>
    private static readonly TimeSpan Straggle = TimeSpan.FromSeconds(30);

    private static readonly Metric SequentialP50 = new("sequential: p50 per pair (× floor; lower is better)", MetricKind.Ratio, "us");
    private static readonly Metric SequentialP99 = new("sequential: p99 per pair (× floor)", MetricKind.Ratio, "us");
    private static readonly Metric Allocated = new("allocated per pair, bytes (whole process, sequential loop)", MetricKind.Absolute, "B");
    private static readonly Metric Throughput = new("throughput-64: pairs/s (× floor; higher is better)", MetricKind.Ratio, "/s");
    private static readonly Metric KilledP50 = new("node-killed: p50 per pair (× floor)", MetricKind.Ratio, "us");
    private static readonly Metric KilledMax = new("node-killed: slowest pair (from 0.5 s after the kill)", MetricKind.Absolute, "ms");
    private static readonly Metric KilledSuccess = new("node-killed: pairs succeeded", MetricKind.Absolute, "%");
    private static readonly Metric KilledCount = new("node-killed: pairs measured per round", MetricKind.Absolute, string.Empty);
    private static readonly Metric FailingMean = new("failing-try: mean per failed try (× floor)", MetricKind.Ratio, "us");
    private static readonly Metric FailingP50 = new("failing-try: p50 per failed try (× floor)", MetricKind.Ratio, "us");
    private static readonly Metric FailingCount = new("failing-try: tries measured per round", MetricKind.Absolute, string.Empty);
    private static readonly Metric Errors = new("errors (exceptions, unexpected acquisitions; all rounds)", MetricKind.Total, string.Empty);

    public static async Task<int> RunAsync(string[] args)
    {
        if (!LoadSettings.TryParse(args, out var settings, out var error))
        {
            await Console.Error.WriteLineAsync(error);
            return 2;
        }

        var command = "dotnet run -c Release --project bench/RedLockNet.Benchmarks -- load" + string.Concat(args.Select(a => " " + a));
        var clock = Stopwatch.StartNew();
        var report = new LoadReport(settings.Rounds);
        var contention = new[] { new ContentionMetrics("contention (a) 8 callers, 1 factory"), new ContentionMetrics("contention (b) 8 callers, 4 factories"), new ContentionMetrics("contention (c) as (b), RedLockNet in FairOrder") };
        string redisVersion;
        await using (var nodes = await BenchmarkNodes.StartAsync())
        {
            redisVersion = await RedisVersionAsync(nodes.Endpoints);
            Console.WriteLine($"load: {settings.Rounds} round(s), {settings.Duration.TotalSeconds:0.#} s per timed scenario, base seed {settings.Seed}{(settings.Quick ? ", quick" : string.Empty)}");
            for (var round = 0; round < settings.Rounds; round++)
            {
                await RunRoundAsync(nodes, settings, report, contention, round);
            }
        }

        var elapsed = clock.Elapsed;
        Console.WriteLine();
        Console.WriteLine($"`{command}`");
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{settings.Rounds} round(s) in {elapsed.TotalMinutes:0.0} min; {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, " +
            $"{RuntimeInformation.FrameworkDescription}, redis-server {redisVersion}, 3 nodes on 127.0.0.1; seeds {settings.Seed} + 1000·round + client. " +
            $"Client columns: median over rounds (min–max) of client ÷ floor in the same round, for rows marked ×; the clients' own values otherwise. " +
            $"Sizes: sequential {settings.SequentialPairs} pairs, timed scenarios {settings.Duration.TotalSeconds:0.#} s, failing-try ≤ {settings.FailingTries} tries or " +
            $"{settings.FailingBudget.TotalSeconds:0.#} s, node-killed ≤ {settings.KilledPairs} pairs or {settings.KilledBudget.TotalSeconds:0.#} s per client " +
            $"(each call abandoned after {settings.CallBound.TotalSeconds:0.#} s); RedLock.net waits retry every {RedLockDotNetClient.RetryInterval.TotalSeconds:0.#} s."));
        Console.WriteLine();
        Console.WriteLine(report.ToMarkdown());
        return 0;
    }

    private static async Task RunRoundAsync(BenchmarkNodes nodes, LoadSettings settings, LoadReport report, ContentionMetrics[] contention, int round)
    {
        var order = LoadReport.Clients.Select((_, i) => LoadReport.Clients[(i + round) % LoadReport.Clients.Count]).ToArray();
        Console.WriteLine($"round {round + 1}/{settings.Rounds}: order {string.Join(", ", order.Select(LoadClient.NameOf))}");
        var state = new RoundState();
        var clients = new Dictionary<ClientKind, LoadClient>();
        try
        {
            foreach (var kind in LoadReport.Clients)
            {
                clients[kind] = await LoadClient.ConnectAsync(kind, nodes.Endpoints, SeedOf(settings, round, kind));
            }

            var prefix = string.Create(CultureInfo.InvariantCulture, $"load:r{round}:");
            foreach (var kind in order)
            {
                await SequentialAsync(clients[kind], $"{prefix}warm:{kind}", settings.WarmupPairs, settings.SequentialBudget, bound: null, state);
                await ThroughputAsync(clients[kind], $"{prefix}warm:{kind}:", settings.WarmupDuration, state);
            }

            var line = new Progress("sequential p50 / p99 us, B/pair");
            foreach (var kind in order)
            {
                var result = await SequentialAsync(clients[kind], $"{prefix}seq:{kind}", settings.SequentialPairs, settings.SequentialBudget, bound: null, state);
                report.Record(SequentialP50, kind, round, result.P50);
                report.Record(SequentialP99, kind, round, result.P99);
                report.Record(Allocated, kind, round, result.AllocatedPerPair);
                line.Add(kind, $"{result.P50:0} / {result.P99:0}, {result.AllocatedPerPair:0}");
            }

            line.Print();
            line = new Progress("throughput-64 pairs/s");
            foreach (var kind in order)
            {
                var pairsPerSecond = await ThroughputAsync(clients[kind], $"{prefix}tp:{kind}:", settings.Duration, state);
                report.Record(Throughput, kind, round, pairsPerSecond);
                line.Add(kind, $"{pairsPerSecond:0}");
            }

            line.Print();
            await RunContentionAsync(nodes, settings, report, contention, round, order, clients, prefix, state);
            await RunFailingTryAsync(nodes, settings, report, round, order, clients, prefix, state);
            await RunNodeKilledAsync(nodes, settings, report, round, order, clients, prefix, state);
        }
        finally
        {
            await state.DrainAsync();
            foreach (var client in clients.Values)
            {
                await client.DisposeAsync();
            }

            foreach (var kind in LoadReport.Clients)
            {
                report.Record(Errors, kind, round, state.ErrorCount(kind));
            }

            state.PrintErrors();
        }
    }

    private static async Task RunContentionAsync(
        BenchmarkNodes nodes, LoadSettings settings, LoadReport report, ContentionMetrics[] contention, int round,
        ClientKind[] order, Dictionary<ClientKind, LoadClient> clients, string prefix, RoundState state)
    {
        for (var variant = 0; variant < contention.Length; variant++)
        {
            var metrics = contention[variant];
            var line = new Progress($"{metrics.Name}: acq/s, least-served %, timeouts, overlaps");
            foreach (var kind in order)
            {
                var owned = new List<LoadClient>();
                try
                {
                    var callers = new LoadClient[ContentionCallers];
                    for (var caller = 0; caller < ContentionCallers; caller++)
                    {
                        if (variant == 0)
                        {
                            callers[caller] = clients[kind];
                        }
                        else if (caller % 2 == 0)
                        {
                            // (b), (c): 4 factories, each on its own connections, 2 callers each; (c) RedLockNet in fair order
                            owned.Add(await LoadClient.ConnectAsync(kind, nodes.Endpoints, SeedOf(settings, round, kind) + 10 + caller, fairOrder: variant == 2));
                            callers[caller] = callers[caller + 1] = owned[^1];
                        }
                    }

                    var result = await ContentionAsync(callers, $"{prefix}contention{variant}:{kind}", settings.Duration, state);
                    report.Record(metrics.Rate, kind, round, result.AcquisitionsPerSecond);
                    report.Record(metrics.Fairness, kind, round, result.LeastServedPercent);
                    report.Record(metrics.Timeouts, kind, round, result.Timeouts);
                    report.Record(metrics.Overlaps, kind, round, result.Overlaps);
                    line.Add(kind, $"{result.AcquisitionsPerSecond:0}, {result.LeastServedPercent:0}, {result.Timeouts}, {result.Overlaps}");
                }
                finally
                {
                    foreach (var client in owned)
                    {
                        await client.DisposeAsync();
                    }
                }
            }

            line.Print();
        }
    }

    private static async Task RunFailingTryAsync(
        BenchmarkNodes nodes, LoadSettings settings, LoadReport report, int round,
        ClientKind[] order, Dictionary<ClientKind, LoadClient> clients, string prefix, RoundState state)
    {
        // the other owner: a floor of its own, holding the very keys each client writes (found by taking and releasing
        // the lock once and comparing the nodes' keys), so the harness needs no knowledge of any client's key layout
        await using var holder = await FloorLock.ConnectAsync(nodes.Endpoints, SeedOf(settings, round, ClientKind.Floor) + 500);
        var held = new List<object>();
        try
        {
            var resources = new Dictionary<ClientKind, string>();
            foreach (var kind in order)
            {
                resources[kind] = $"{prefix}held:{kind}";
                foreach (var key in await LockKeysAsync(clients[kind], resources[kind], holder))
                {
                    held.Add(await holder.TryAcquireAsync(key, HolderExpiry, CancellationToken.None)
                        ?? throw new InvalidOperationException($"The holder could not take {key}."));
                }
            }

            var line = new Progress("failing-try mean / p50 us (tries)");
            foreach (var kind in order)
            {
                var result = await FailingTryAsync(clients[kind], resources[kind], settings, state);
                report.Record(FailingMean, kind, round, result.Mean);
                report.Record(FailingP50, kind, round, result.P50);
                report.Record(FailingCount, kind, round, result.Tries);
                line.Add(kind, $"{result.Mean:0} / {result.P50:0} ({result.Tries})");
            }

            line.Print();
        }
        finally
        {
            foreach (var handle in held)
            {
                await holder.ReleaseAsync(handle);
            }
        }
    }

    private static async Task RunNodeKilledAsync(
        BenchmarkNodes nodes, LoadSettings settings, LoadReport report, int round,
        ClientKind[] order, Dictionary<ClientKind, LoadClient> clients, string prefix, RoundState state)
    {
        var victim = nodes.Nodes[round % nodes.Nodes.Count];
        await victim.KillAsync();
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500)); // every connection has seen its socket close
            var line = new Progress($"node-killed ({victim.Endpoint} down) p50 us, succeeded/measured");
            foreach (var kind in order)
            {
                var resource = $"{prefix}killed:{kind}";
                var result = await SequentialAsync(clients[kind], resource, settings.KilledPairs, settings.KilledBudget, settings.CallBound, state);
                report.Record(KilledP50, kind, round, result.P50);
                report.Record(KilledMax, kind, round, result.Max / 1000);
                report.Record(KilledSuccess, kind, round, 100.0 * result.Succeeded / Math.Max(1, result.Pairs));
                report.Record(KilledCount, kind, round, result.Pairs);
                line.Add(kind, $"{result.P50:0}, {result.Succeeded}/{result.Pairs}");
            }

            line.Print();
        }
        finally
        {
            // the next round connects fresh clients to the restarted node (a fresh RedLockNet factory does not quarantine it)
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await victim.RestartAsync(timeout.Token);
        }
    }

    /// <summary>N acquire+release pairs, one after the other, on one resource; bounded by count and time.</summary>
    private static async Task<SequentialResult> SequentialAsync(LoadClient client, string resource, int pairs, TimeSpan budget, TimeSpan? bound, RoundState state)
    {
        var latencies = new long[pairs];
        var done = 0;
        var succeeded = 0;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var start = Stopwatch.GetTimestamp();
        while (done < pairs && Stopwatch.GetElapsedTime(start) < budget)
        {
            var began = Stopwatch.GetTimestamp();
            if (await PairAsync(client, resource, bound, state))
            {
                succeeded++;
            }

            latencies[done++] = Stopwatch.GetTimestamp() - began;
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        return new SequentialResult(
            Microseconds(LoadReport.Percentile(latencies, done, 0.50)),
            Microseconds(LoadReport.Percentile(latencies, done, 0.99)),
            Microseconds(LoadReport.Percentile(latencies, done, 1.0)),
            done,
            succeeded,
            done == 0 ? double.NaN : (double)allocated / done);
    }

    /// <summary>64 callers, each on its own resource, doing pairs until the time is up.</summary>
    private static async Task<double> ThroughputAsync(LoadClient client, string prefix, TimeSpan duration, RoundState state)
    {
        long pairs = 0;
        var start = Stopwatch.GetTimestamp();
        var callers = new Task[ThroughputCallers];
        for (var i = 0; i < callers.Length; i++)
        {
            var resource = prefix + i.ToString(CultureInfo.InvariantCulture);
            callers[i] = Task.Run(async () =>
            {
                for (var n = 0; n < MaxIterations && Stopwatch.GetElapsedTime(start) < duration; n++)
                {
                    if (await PairAsync(client, resource, bound: null, state))
                    {
                        Interlocked.Increment(ref pairs);
                    }
                }
            });
        }

        await Task.WhenAll(callers).WaitAsync(duration + Straggle);
        return Interlocked.Read(ref pairs) / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>
    /// 8 callers on one resource: acquire (waiting up to 2 s), hold 1 ms, release, until the time is up. Only acquisitions
    /// made before the end count; the end cancels the waits still running (those are neither acquisitions nor timeouts).
    /// </summary>
    private static async Task<ContentionResult> ContentionAsync(LoadClient[] callers, string resource, TimeSpan duration, RoundState state)
    {
        var counts = new long[callers.Length];
        long timeouts = 0;
        long overlaps = 0;
        long holders = 0;
        using var stop = new CancellationTokenSource(duration);
        var tasks = new Task[callers.Length];
        for (var i = 0; i < callers.Length; i++)
        {
            var caller = i;
            var client = callers[i];
            tasks[i] = Task.Run(async () =>
            {
                for (var n = 0; n < MaxIterations && !stop.IsCancellationRequested; n++)
                {
                    object? handle;
                    try
                    {
                        handle = await client.AcquireAsync(resource, ContentionWait, stop.Token);
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        break;
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        state.Error(client.Kind, e);
                        continue;
                    }

                    if (handle is null)
                    {
                        if (!stop.IsCancellationRequested)
                        {
                            Interlocked.Increment(ref timeouts);
                        }

                        continue;
                    }

                    var inWindow = !stop.IsCancellationRequested;
                    if (Interlocked.Increment(ref holders) > 1)
                    {
                        Interlocked.Increment(ref overlaps);
                    }

                    await Task.Delay(HoldTime, CancellationToken.None);
                    Interlocked.Decrement(ref holders);
                    try
                    {
                        await client.ReleaseAsync(handle);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        state.Error(client.Kind, e);
                    }

                    if (inWindow)
                    {
                        counts[caller]++;
                    }
                }
            });
        }

        await Task.WhenAll(tasks).WaitAsync(duration + ContentionWait + Straggle);
        var total = counts.Sum();
        var leastServed = total == 0 ? 0 : 100.0 * counts.Min() / ((double)total / callers.Length);
        return new ContentionResult(total / duration.TotalSeconds, leastServed, Interlocked.Read(ref timeouts), Interlocked.Read(ref overlaps));
    }

    /// <summary>No-wait tries at a resource another owner holds: a short warm-up, then up to N tries or the time budget.</summary>
    private static async Task<FailingResult> FailingTryAsync(LoadClient client, string resource, LoadSettings settings, RoundState state)
    {
        var warmup = Stopwatch.GetTimestamp();
        for (var n = 0; n < settings.FailingTries / 10 && Stopwatch.GetElapsedTime(warmup) < TimeSpan.FromSeconds(1); n++)
        {
            await FailOnceAsync(client, resource, state);
        }

        var samples = new long[settings.FailingTries];
        var done = 0;
        var start = Stopwatch.GetTimestamp();
        while (done < samples.Length && Stopwatch.GetElapsedTime(start) < settings.FailingBudget)
        {
            var began = Stopwatch.GetTimestamp();
            await FailOnceAsync(client, resource, state);
            samples[done++] = Stopwatch.GetTimestamp() - began;
        }

        var mean = done == 0 ? double.NaN : Microseconds(samples.Take(done).Average());
        return new FailingResult(mean, Microseconds(LoadReport.Percentile(samples, done, 0.50)), done);
    }

    private static async Task FailOnceAsync(LoadClient client, string resource, RoundState state)
    {
        if (await client.TryAcquireAsync(resource, CancellationToken.None) is { } handle)
        {
            await client.ReleaseAsync(handle);
            state.Error(client.Kind, new InvalidOperationException($"{LoadClient.NameOf(client.Kind)} acquired {resource}, which another owner holds."));
        }
    }

    /// <summary>
    /// One try, then the release of what it got. With <paramref name="bound"/>, each call is abandoned after that long
    /// (counted as failed; a late handle is released in the background). Exceptions count as failures and errors.
    /// </summary>
    private static async Task<bool> PairAsync(LoadClient client, string resource, TimeSpan? bound, RoundState state)
    {
        try
        {
            if (bound is not { } limit)
            {
                var handle = await client.TryAcquireAsync(resource, CancellationToken.None);
                if (handle is null)
                {
                    return false;
                }

                await client.ReleaseAsync(handle);
                return true;
            }

            var acquire = client.TryAcquireAsync(resource, CancellationToken.None);
            if (!await Within(acquire, limit))
            {
                state.Abandon(ReleaseLateAsync(client, acquire));
                return false;
            }

            if (await acquire is not { } acquired)
            {
                return false;
            }

            var release = client.ReleaseAsync(acquired).AsTask();
            if (!await Within(release, limit))
            {
                state.Abandon(release);
                return false;
            }

            await release;
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            state.Error(client.Kind, e);
            return false;
        }
    }

    private static async Task<bool> Within(Task task, TimeSpan limit)
    {
        using var timer = new CancellationTokenSource();
        var first = await Task.WhenAny(task, Task.Delay(limit, timer.Token));
        await timer.CancelAsync();
        return first == task;
    }

    private static async Task ReleaseLateAsync(LoadClient client, Task<object?> acquire)
    {
        if (await acquire is { } handle)
        {
            await client.ReleaseAsync(handle);
        }
    }

    /// <summary>The keys <paramref name="client"/> writes for <paramref name="resource"/>'s lock: there while held, gone after release.</summary>
    private static async Task<string[]> LockKeysAsync(LoadClient client, string resource, FloorLock reader)
    {
        var handle = await client.TryAcquireAsync(resource, CancellationToken.None)
            ?? throw new InvalidOperationException($"{LoadClient.NameOf(client.Kind)} could not take the free lock {resource}.");
        var whileHeld = await KeysAsync(reader, resource);
        await client.ReleaseAsync(handle);
        await Task.Delay(TimeSpan.FromMilliseconds(100)); // a release may return at a majority; let the last node answer too
        var keys = whileHeld.Except(await KeysAsync(reader, resource)).ToArray();
        return keys.Length > 0 ? keys : throw new InvalidOperationException($"No lock key of {LoadClient.NameOf(client.Kind)} found for {resource}.");
    }

    private static async Task<HashSet<string>> KeysAsync(FloorLock reader, string resource)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in reader.Servers)
        {
            await foreach (var key in server.KeysAsync(pattern: $"*{resource}*").Take(100))
            {
                keys.Add(key.ToString());
            }
        }

        return keys;
    }

    private static async Task<string> RedisVersionAsync(IReadOnlyList<string> endpoints)
    {
        await using var reader = await FloorLock.ConnectAsync(endpoints, seed: 0);
        return reader.Servers.First().Version.ToString();
    }

    private static int SeedOf(LoadSettings settings, int round, ClientKind kind) => settings.Seed + 1000 * round + (int)kind;

    private static double Microseconds(double ticks) => ticks * 1_000_000 / Stopwatch.Frequency;

    private sealed record SequentialResult(double P50, double P99, double Max, int Pairs, int Succeeded, double AllocatedPerPair);

    private sealed record ContentionResult(double AcquisitionsPerSecond, double LeastServedPercent, long Timeouts, long Overlaps);

    private sealed record FailingResult(double Mean, double P50, int Tries);

    /// <summary>The four rows of one contention variant.</summary>
    private sealed class ContentionMetrics(string name)
    {
        public string Name => name;

        public Metric Rate { get; } = new($"{name}: acquisitions/s (× floor; higher is better)", MetricKind.Ratio, "/s");

        public Metric Fairness { get; } = new($"{name}: least-served caller, % of a fair share", MetricKind.Absolute, "%");

        public Metric Timeouts { get; } = new($"{name}: timeouts (2 s waits) per round", MetricKind.Absolute, string.Empty);

        public Metric Overlaps { get; } = new($"{name}: overlaps (must be 0; all rounds)", MetricKind.Total, string.Empty);
    }

    /// <summary>One progress line per scenario and round, in run order, with absolute values.</summary>
    private sealed class Progress(string title)
    {
        private readonly List<string> parts = [];

        public void Add(ClientKind kind, string value) => parts.Add($"{LoadClient.NameOf(kind)} {value}");

        public void Print() => Console.WriteLine($"  {title}: {string.Join("; ", parts)}");
    }

    /// <summary>A round's errors (per client, with the first message of each) and the background releases still running.</summary>
    private sealed class RoundState
    {
        private readonly ConcurrentDictionary<ClientKind, int> errors = new();
        private readonly ConcurrentDictionary<ClientKind, string> firstErrors = new();
        private readonly ConcurrentBag<Task> abandoned = [];

        public void Error(ClientKind kind, Exception error)
        {
            errors.AddOrUpdate(kind, 1, static (_, n) => n + 1);
            firstErrors.TryAdd(kind, $"{error.GetType().Name}: {error.Message}");
        }

        public int ErrorCount(ClientKind kind) => errors.GetValueOrDefault(kind);

        public void Abandon(Task task) => abandoned.Add(task);

        /// <summary>Waits (at most 10 s) for abandoned calls, so their late releases reach the nodes before the clients close.</summary>
        public async Task DrainAsync()
        {
            var all = Task.WhenAll(abandoned);
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(10)));
            if (all.IsFaulted)
            {
                _ = all.Exception; // the abandoned calls' own failures were already counted as failed pairs
            }
        }

        public void PrintErrors()
        {
            foreach (var (kind, message) in firstErrors)
            {
                Console.WriteLine($"  errors of {LoadClient.NameOf(kind)}: {errors[kind]}, first: {message}");
            }
        }
    }
}
