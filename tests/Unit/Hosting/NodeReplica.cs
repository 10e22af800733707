using System.Collections.Concurrent;
using System.Diagnostics;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.Election;
using RedLockNet.Tests.Unit.Integration;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>
/// One replica of a service against real servers: its own <see cref="RedLockFactory"/> (its own connections) and
/// a <see cref="CronRunner"/> running a job that records each run in a shared <see cref="RunLedger"/>.
/// </summary>
internal sealed class NodeReplica : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;
    private int _factoryGone;

    private NodeReplica(string name, RedLockFactory factory)
    {
        Name = name;
        Factory = factory;
    }

    public string Name { get; }

    public RedLockFactory Factory { get; }

    public CronRunner Runner { get; private set; } = null!;

    public bool IsLeader => Runner.Elector.IsLeader;

    public ConcurrentQueue<LeadershipTerm> Started { get; } = new();

    public ConcurrentQueue<LeadershipTerm> Stopped { get; } = new();

    public ConcurrentQueue<CronTickEventArgs> Settled { get; } = new();

    /// <summary>Connects a replica (its own connections) and starts it campaigning in <paramref name="election"/>'s group.</summary>
    public static async Task<NodeReplica> StartAsync(string name, IReadOnlyList<string> endpoints, LeaderElectionOptions election, RunLedger ledger)
    {
        var replica = new NodeReplica(name, await RedLockFactory.ConnectAsync(Clusters.Options(endpoints), Clusters.Bound()));
        var options = new CronRunnerOptions
        {
            Election = new LeaderElectionOptions
            {
                Group = election.Group,
                Identity = name,
                LeaseDuration = election.LeaseDuration,
                RenewDeadline = election.RenewDeadline,
                RetryPeriod = election.RetryPeriod,
                OnStartedLeading = (term, _) =>
                {
                    replica.Started.Enqueue(term);
                    return Task.CompletedTask;
                },
                OnStoppedLeading = replica.Stopped.Enqueue,
            },
        };
        replica.Runner = new CronRunner(replica.Factory, [CronJob.Create("tick", "* * * * * *", ledger.RunAsync)], options);
        replica.Runner.TickSettled += (_, e) => replica.Settled.Enqueue(e);
        replica._running = replica.Runner.RunAsync(replica._stop.Token);
        return replica;
    }

    /// <summary>
    /// A crash as the nodes see it: the connections drop first (no renewal, no release reaches them any more),
    /// then the replica's code stops.
    /// </summary>
    public async Task CrashAsync()
    {
        if (Interlocked.Exchange(ref _factoryGone, 1) == 0)
        {
            await Factory.DisposeAsync();
        }

        await _stop.CancelAsync();
        await _running.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
    }

    /// <summary>A graceful stop: RunAsync is cancelled (a leader releases), then the connections close.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _running.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        if (Interlocked.Exchange(ref _factoryGone, 1) == 0)
        {
            await Factory.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            // the test reports its own failure
        }

        if (Interlocked.Exchange(ref _factoryGone, 1) == 0)
        {
            await Factory.DisposeAsync();
        }

        _stop.Dispose();
    }
}

/// <summary>Every run of the shared job across replicas, keyed by tick.</summary>
internal sealed class RunLedger
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    public ConcurrentDictionary<DateTimeOffset, ConcurrentQueue<LedgerRun>> Runs { get; } = new();

    public Task RunAsync(CronJobContext context, CancellationToken cancellationToken)
    {
        Runs.GetOrAdd(context.FireTime, _ => new()).Enqueue(new LedgerRun(context, Clock.Elapsed));
        return Task.Delay(20, cancellationToken);
    }

    /// <summary>Monotonic time on the ledger's clock, to compare with <see cref="LedgerRun.At"/>.</summary>
    public static TimeSpan Now => Clock.Elapsed;

    public IEnumerable<LedgerRun> All => Runs.Values.SelectMany(q => q);

    public bool Ran(DateTimeOffset tick) => Runs.ContainsKey(tick);

    /// <summary>One line per tick that ran more than once.</summary>
    public List<string> Twice() =>
        [.. Runs.Where(r => r.Value.Count > 1).Select(r => $"{r.Key:HH:mm:ss.fff} ran {r.Value.Count} times: {string.Join(", ", r.Value)}")];
}

internal sealed record LedgerRun(CronJobContext Context, TimeSpan At)
{
    public override string ToString() => $"{Context.ReplicaId} (epoch {Context.Epoch}{(Context.IsCatchUp ? ", catch-up" : string.Empty)})";
}

/// <summary>Settings and helpers shared by the real-node hosting tests.</summary>
internal static class Replicas
{
    /// <summary>Short timing, so a crashed leader is replaced within seconds.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan RenewDeadline = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(500);

    private static readonly string[] Names = ["replica-a", "replica-b", "replica-c"];

    public static ITestOutputHelper? Output => TestContext.Current.TestOutputHelper;

    /// <summary>An election in a group of its own (the nodes are shared with other tests).</summary>
    public static LeaderElectionOptions Election(string name) => new()
    {
        Group = Clusters.UniqueResource(name),
        LeaseDuration = Lease,
        RenewDeadline = RenewDeadline,
        RetryPeriod = Retry,
    };

    /// <summary>Three replicas, each with its own connections, started together.</summary>
    public static async Task<List<NodeReplica>> StartAsync(IReadOnlyList<string> endpoints, LeaderElectionOptions election, RunLedger ledger) =>
        [.. await Task.WhenAll(Names.Select(name => NodeReplica.StartAsync(name, endpoints, election, ledger)))];

    public static async Task DisposeAllAsync(IEnumerable<NodeReplica> replicas)
    {
        foreach (var replica in replicas)
        {
            await replica.DisposeAsync();
        }
    }

    /// <summary>The first whole second after <paramref name="after"/> (UTC): a tick of a per-second job.</summary>
    public static DateTimeOffset NextWholeSecond(DateTimeOffset after) =>
        new DateTimeOffset(after.Year, after.Month, after.Day, after.Hour, after.Minute, after.Second, TimeSpan.Zero).AddSeconds(1);

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="bound"/> (real time) passes.</summary>
    public static async Task<bool> UntilAsync(Func<bool> condition, TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > bound)
            {
                return false;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        return true;
    }

    /// <summary>Writes what each replica saw to the test output.</summary>
    public static void Report(RunLedger ledger, IEnumerable<NodeReplica> replicas)
    {
        foreach (var replica in replicas)
        {
            var outcomes = replica.Settled.GroupBy(e => e.Outcome).Select(g => $"{g.Key} {g.Count()}");
            Output?.WriteLine($"{replica.Name}: {replica.Started.Count} term(s), ticks {string.Join(", ", outcomes)}");
        }

        Output?.WriteLine($"ticks run: {ledger.Runs.Count}, runs: {ledger.All.Count()}");
    }
}
