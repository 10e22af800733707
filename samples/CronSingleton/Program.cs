using System.Collections.Concurrent;
using System.Globalization;
using CronSingleton;
using RedLockNet;

// Three replicas of one service share a job that must run once every 2 seconds, on three Redis-compatible
// nodes. Each tick, every replica races for that tick's lock; the winner runs the job. Part way through, a
// replica crashes (no release) and a node is killed; the summary counts what ran where.
//
//   dotnet run --project samples/CronSingleton                          embedded nodes, 3 replicas, ~24 s
//   dotnet run --project samples/CronSingleton -- --nodes a:6379,b:6379,c:6379 [--name replica-x]
//                                                                       one replica against real Redis
var settings = Settings.Parse(args);
var period = TimeSpan.FromSeconds(2);
var ledger = new Ledger();
using var stop = new CancellationTokenSource(settings.Duration);
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };

if (settings.Nodes is { } external)
{
    await using var locks = await RedLockFactory.ConnectAsync(Options(external));
    Console.WriteLine($"{Stamp()} {settings.Name} joined nodes {string.Join(", ", external)}; job every {period.TotalSeconds:0} s. Start more replicas the same way; Ctrl+C stops.");
    await Replica.RunAsync(settings.Name, locks, period, ledger, stop.Token);
    ledger.PrintSummary(period);
    return;
}

using var nodes = new EmbeddedNodes(3);
Console.WriteLine($"{Stamp()} started 3 embedded Garnet nodes: {string.Join(", ", nodes.Endpoints)}");
var names = new[] { "replica-a", "replica-b", "replica-c" };
var factories = await Task.WhenAll(names.Select(_ => RedLockFactory.ConnectAsync(Options(nodes.Endpoints))));
var crash = names.Select(_ => CancellationTokenSource.CreateLinkedTokenSource(stop.Token)).ToArray();
var replicas = names.Select((name, i) => Replica.RunAsync(name, factories[i], period, ledger, crash[i].Token)).ToArray();

await Task.Delay(settings.Duration * 0.4, stop.Token).ContinueWith(_ => { });
var victim = Math.Max(0, Array.IndexOf(names, ledger.LastRunner ?? names[0]));
Console.WriteLine($"{Stamp()} !! {names[victim]} crashes (no release; its connections are dropped)");
await crash[victim].CancelAsync();
await factories[victim].DisposeAsync();

await Task.Delay(settings.Duration * 0.2, stop.Token).ContinueWith(_ => { });
Console.WriteLine($"{Stamp()} !! node {nodes.Endpoints[2]} is killed; 2 of 3 remain, still a majority");
nodes.Kill(2);

await Task.WhenAll(replicas);
foreach (var (factory, i) in factories.Select((f, i) => (f, i)).Where(p => p.i != victim))
{
    await factory.DisposeAsync();
}

ledger.PrintSummary(period);
return;

static RedLockOptions Options(IEnumerable<string> endpoints)
{
    var options = new RedLockOptions { NodeTimeout = TimeSpan.FromMilliseconds(150) };
    foreach (var endpoint in endpoints)
    {
        options.Nodes.Add(endpoint);
    }

    return options;
}

static string Stamp() => DateTimeOffset.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

namespace CronSingleton
{
    internal static class Replica
    {
        /// <summary>Waits for each 2-second boundary, races for that tick's lock, and runs the job when it wins.</summary>
        public static async Task RunAsync(string name, IDistributedLockFactory locks, TimeSpan period, Ledger ledger, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var now = DateTimeOffset.UtcNow;
                var tick = new DateTimeOffset((now.Ticks / period.Ticks + 1) * period.Ticks, TimeSpan.Zero);
                try
                {
                    await Task.Delay(tick - now, stop);
                    ledger.Due(tick);
                    // the tick's lock is not released after the job: it expires on its own, so a replica that
                    // wakes late for this tick finds it taken and cannot run the tick a second time. Racing replicas
                    // can split the votes so that nobody wins; they retry (jittered) for a quarter of the period.
                    ledger.Attempted(tick);
                    var handle = await locks.TryAcquireAsync(
                        $"cron:report:{tick:yyyyMMddTHHmmss}", new LockRequest { Expiry = period * 5, WaitTimeout = period / 4 }, stop);
                    if (handle is null)
                    {
                        continue;
                    }

                    ledger.Ran(tick, name);
                    Console.WriteLine($"{DateTimeOffset.Now:HH:mm:ss.fff} {name} runs the job for tick {tick.ToLocalTime():HH:mm:ss} (lock {handle.LockId[..8]}…)");
                    await Task.Delay(TimeSpan.FromMilliseconds(300), stop); // the job
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (QuorumUnavailableException ex)
                {
                    ledger.Unavailable(tick);
                    Console.WriteLine($"{DateTimeOffset.Now:HH:mm:ss.fff} {name} could not reach a majority for tick {tick.ToLocalTime():HH:mm:ss}: {ex.Failures.Count} node(s) failed");
                }
            }
        }
    }

    /// <summary>What was due and what ran where.</summary>
    internal sealed class Ledger
    {
        private readonly ConcurrentDictionary<DateTimeOffset, byte> _due = new();
        private readonly ConcurrentDictionary<DateTimeOffset, ConcurrentQueue<string>> _runs = new();
        private readonly ConcurrentDictionary<DateTimeOffset, byte> _unavailable = new();
        private readonly ConcurrentDictionary<DateTimeOffset, byte> _attempted = new();

        public string? LastRunner { get; private set; }

        public void Due(DateTimeOffset tick) => _due.TryAdd(tick, 0);

        public void Ran(DateTimeOffset tick, string replica)
        {
            _runs.GetOrAdd(tick, _ => new ConcurrentQueue<string>()).Enqueue(replica);
            LastRunner = replica;
        }

        public void Unavailable(DateTimeOffset tick) => _unavailable.TryAdd(tick, 0);

        public void Attempted(DateTimeOffset tick) => _attempted.TryAdd(tick, 0);

        public void PrintSummary(TimeSpan period)
        {
            var due = _due.Keys.Order().ToList();
            var duplicates = _runs.Values.Sum(r => Math.Max(0, r.Count - 1));
            var missed = due.Where(t => !_runs.ContainsKey(t)).ToList();
            Console.WriteLine();
            Console.WriteLine($"summary: job every {period.TotalSeconds:0} s");
            Console.WriteLine($"  ticks due:   {due.Count}");
            Console.WriteLine($"  ticks run:   {_runs.Count}");
            foreach (var group in _runs.Values.SelectMany(r => r).GroupBy(r => r).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"    {group.Key}: {group.Count()} run(s)");
            }

            Console.WriteLine($"  duplicates:  {duplicates}");
            Console.WriteLine($"  ticks missed: {missed.Count}");
            foreach (var tick in missed)
            {
                var why = _unavailable.ContainsKey(tick) ? "no majority of nodes answered"
                    : _attempted.ContainsKey(tick) ? "the racing replicas split the votes until the retry window closed"
                    : "no replica was running";
                Console.WriteLine($"    {tick.ToLocalTime():HH:mm:ss}: {why}");
            }
        }
    }

    internal sealed record Settings(string[]? Nodes, string Name, TimeSpan Duration)
    {
        public static Settings Parse(string[] args)
        {
            string[]? nodes = null;
            var name = $"replica-{Environment.ProcessId}";
            TimeSpan? duration = null;
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--nodes" when i + 1 < args.Length:
                        nodes = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        break;
                    case "--name" when i + 1 < args.Length:
                        name = args[++i];
                        break;
                    case "--seconds" when i + 1 < args.Length && int.TryParse(args[i + 1], out var seconds) && seconds > 0:
                        duration = TimeSpan.FromSeconds(seconds);
                        i++;
                        break;
                    default:
                        throw new ArgumentException($"Unknown or incomplete argument '{args[i]}'. Use --nodes host:port,host:port,host:port [--name NAME] [--seconds N].", nameof(args));
                }
            }

            return new Settings(nodes, name, duration ?? (nodes is null ? TimeSpan.FromSeconds(24) : Timeout.InfiniteTimeSpan));
        }
    }
}
