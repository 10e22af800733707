using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.Election;
using RedLockNet.Nodes;
using RedLockNet.Nodes.Scripts;
using RedLockNet.Tests.Unit.Sim;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>
/// One replica of a service on a simulated cluster: its own <see cref="RedLockFactory"/> over the shared nodes and
/// fake clock, and either a <see cref="CronRunner"/> or a bare <see cref="LeaderElector"/>. Records what its
/// callbacks and events report.
/// </summary>
internal sealed class SimReplica : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, int> _reads = new();
    private readonly ConcurrentDictionary<string, bool> _claimed = new();
    private readonly ConcurrentDictionary<string, bool> _settled = new();
    private Task? _running;
    private int _jobsRunning;

    private SimReplica(SimulatedCluster sim, string name)
    {
        Sim = sim;
        Name = name;
        Factory = RedLockFactory.CreateForNodes([.. sim.Nodes.Select(n => new TappedNode(n, this))], new RedLockOptions { TimeProvider = sim.Time });
        CronSim.Register(sim, this);
    }

    public SimulatedCluster Sim { get; }

    public string Name { get; }

    public RedLockFactory Factory { get; }

    public CronRunner? Runner { get; private set; }

    public LeaderElector Elector { get; private set; } = null!;

    public ConcurrentQueue<LeadershipTerm> Started { get; } = new();

    public ConcurrentQueue<LeadershipTerm> Stopped { get; } = new();

    public ConcurrentQueue<string> NewLeaders { get; } = new();

    public ConcurrentQueue<CronTickEventArgs> Settled { get; } = new();

    /// <summary>A replica running <paramref name="jobs"/> with a cron runner; <paramref name="configure"/> may change any option.</summary>
    public static SimReplica Cron(SimulatedCluster sim, string name, IEnumerable<CronJob> jobs, Action<CronRunnerOptions>? configure = null)
    {
        var replica = new SimReplica(sim, name);
        var options = new CronRunnerOptions { Election = CronSim.Election(name) };
        configure?.Invoke(options);
        replica.Observe(options.Election);
        replica.Runner = new CronRunner(replica.Factory, jobs.Select(replica.Watched), options);
        replica.Runner.TickSettled += (_, e) =>
        {
            replica.Settled.Enqueue(e);
            replica._settled[$"tick:{e.JobName}:{e.FireTime.ToUnixTimeMilliseconds()}"] = true;
        };
        replica.Elector = replica.Runner.Elector;
        return replica;
    }

    /// <summary>A replica that only campaigns and leads.</summary>
    public static SimReplica Candidate(SimulatedCluster sim, string name, Action<LeaderElectionOptions>? configure = null)
    {
        var replica = new SimReplica(sim, name);
        var options = CronSim.Election(name);
        configure?.Invoke(options);
        replica.Observe(options);
        replica.Elector = new LeaderElector(replica.Factory, options);
        return replica;
    }

    /// <summary>
    /// Whether the clock may move on without this replica falling behind it: no tick it claimed is still on its way
    /// to its run (a run in progress waits on the fake clock itself, as do the ticks queued behind it).
    /// </summary>
    public bool IsIdle => Volatile.Read(ref _jobsRunning) > 0 || _claimed.Keys.All(_settled.ContainsKey);

    /// <summary>Starts campaigning (RunAsync) in the background.</summary>
    public SimReplica Start()
    {
        _running = Elector.RunAsync(_stop.Token);
        return this;
    }

    /// <summary>Cancels RunAsync and waits (bounded, in real time) for it to return.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_running is { } running)
        {
            await running.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }
    }

    /// <summary>
    /// Whether this replica leads and, for a cron replica, every job's schedule has read the job's last claimed tick
    /// (from then on its catch-up knows where it starts: the clock may move).
    /// </summary>
    public bool IsScheduling => Elector.IsLeader && (Runner is null || Runner.Jobs.All(j => _reads.GetValueOrDefault("last:" + j.Name) >= Factory.NodeCount));

    /// <summary>Waits (bounded, real time) until this replica leads and its schedules have started (see <see cref="IsScheduling"/>).</summary>
    public async Task LeadsAsync() =>
        Assert.True(await SimulatedCluster.EventuallyAsync(() => IsScheduling), $"{Name} never became leader");

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_running is { } running)
        {
            try
            {
                await running.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                // the test already failed, or will: do not hide its reason
            }
        }

        await Factory.DisposeAsync();
        _stop.Dispose();
    }

    internal void CountRead(string record) => _reads.AddOrUpdate(record, 1, (_, n) => n + 1);

    internal void CountClaim(string record) => _claimed[record] = true;

    /// <summary>The same job, counting its runs in progress.</summary>
    private CronJob Watched(CronJob job) => CronJob.Create(job.Name, job.Expression, async (context, cancellationToken) =>
    {
        Interlocked.Increment(ref _jobsRunning);
        try
        {
            await job.Run(context, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _jobsRunning);
        }
    }, job.TimeZone, job.Options);

    private void Observe(LeaderElectionOptions options)
    {
        var started = options.OnStartedLeading;
        var stopped = options.OnStoppedLeading;
        var newLeader = options.OnNewLeader;
        options.OnStartedLeading = (term, ct) =>
        {
            Started.Enqueue(term);
            return started?.Invoke(term, ct) ?? Task.CompletedTask;
        };
        options.OnStoppedLeading = term =>
        {
            Stopped.Enqueue(term);
            stopped?.Invoke(term);
        };
        options.OnNewLeader = leader =>
        {
            NewLeaders.Enqueue(leader);
            newLeader?.Invoke(leader);
        };
    }
}

/// <summary>A replica's connection to a shared simulated node: notes the records the replica reads and the ticks it claims.</summary>
internal sealed class TappedNode(SimulatedNode node, SimReplica replica) : ILockNode
{
    public string Name => node.Name;

    public Task<RedisResult> RunAsync(ScriptCall call)
    {
        if (call.Script == RecordGetCall.Script && ((string)RecordGetCall.Read(call).RecordKey!).Split(":rec:") is [_, var record])
        {
            replica.CountRead(record);
        }
        else if (call.Script == ClaimCall.Script && ((string)ClaimCall.Read(call).MarkerKey!).Split(":rec:") is [_, var marker])
        {
            replica.CountClaim(marker);
        }

        return node.RunAsync(call);
    }
}

/// <summary>The shared settings and helpers of the fake-clock hosting tests.</summary>
internal static class CronSim
{
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan RenewDeadline = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan RetryPeriod = TimeSpan.FromSeconds(2);

    /// <summary>The clock step: small against every period above, so the loops on the thread pool keep up.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);

    /// <summary>The election every replica of a test holds (the defaults: 15 s lease, 10 s deadline, 2 s retry).</summary>
    public static LeaderElectionOptions Election(string identity, string group = "cron") => new()
    {
        Group = group,
        Identity = identity,
        LeaseDuration = LeaseDuration,
        RenewDeadline = RenewDeadline,
        RetryPeriod = RetryPeriod,
    };

    /// <summary>The fake clock's instant <paramref name="seconds"/> after it started (the Unix epoch).</summary>
    public static DateTimeOffset At(double seconds) => DateTimeOffset.UnixEpoch.AddSeconds(seconds);

    /// <summary>Seconds since the fake clock started.</summary>
    public static double Seconds(DateTimeOffset instant) => (instant - DateTimeOffset.UnixEpoch).TotalSeconds;

    /// <summary>Ticks of a per-second job from <paramref name="first"/> to <paramref name="last"/> seconds, inclusive.</summary>
    public static DateTimeOffset[] Ticks(int first, int last, int every = 1) =>
        [.. Enumerable.Range(0, ((last - first) / every) + 1).Select(i => At(first + (i * every)))];

    private static readonly ConditionalWeakTable<SimulatedCluster, ConcurrentQueue<SimReplica>> Replicas = [];

    /// <summary>Remembers a replica on <paramref name="sim"/>, so that moving its clock waits for the replica.</summary>
    public static void Register(SimulatedCluster sim, SimReplica replica) => Replicas.GetOrCreateValue(sim).Enqueue(replica);

    /// <summary>
    /// Moves the clock to <paramref name="seconds"/> after its start, in steps. Before each step it waits (bounded,
    /// real time) until every replica has run the ticks it claimed, so a loaded thread pool cannot make a run seem
    /// to overlap the next tick.
    /// </summary>
    public static async Task AdvanceToAsync(this SimulatedCluster sim, double seconds, TimeSpan? step = null)
    {
        var target = At(seconds);
        var stride = step ?? Step;
        var replicas = Replicas.GetOrCreateValue(sim);
        for (var left = target - sim.Time.GetUtcNow(); left > TimeSpan.Zero; left = target - sim.Time.GetUtcNow())
        {
            if (!replicas.All(r => r.IsIdle))
            {
                await EventuallyAsync(() => replicas.All(r => r.IsIdle), "the replicas ran the ticks they claimed");
                await SimulatedCluster.Settle(); // and left their run loops
            }

            sim.Time.Advance(left < stride ? left : stride);
            await SimulatedCluster.Settle();
        }
    }

    /// <summary>Asserts (waiting, bounded) that <paramref name="condition"/> comes to hold.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what) =>
        Assert.True(await SimulatedCluster.EventuallyAsync(condition), what);
}

/// <summary>The runs of one job across replicas, as the job itself saw them.</summary>
internal sealed class JobLog(TimeProvider time)
{
    private int _running;
    private int _mostAtOnce;

    public ConcurrentQueue<JobRun> Runs { get; } = new();

    /// <summary>The most runs that were going at one time.</summary>
    public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

    public DateTimeOffset[] FireTimes => [.. Runs.Select(r => r.Context.FireTime)];

    /// <summary>A job body that records each run and takes <paramref name="takes"/> on the fake clock.</summary>
    public Func<CronJobContext, CancellationToken, Task> Body(TimeSpan? takes = null) => async (context, cancellationToken) =>
    {
        var run = new JobRun(context, time.GetUtcNow());
        Runs.Enqueue(run);
        var now = Interlocked.Increment(ref _running);
        for (var most = Volatile.Read(ref _mostAtOnce); now > most; most = Volatile.Read(ref _mostAtOnce))
        {
            Interlocked.CompareExchange(ref _mostAtOnce, now, most);
        }

        try
        {
            if (takes is { } span)
            {
                await Task.Delay(span, time, cancellationToken);
            }
        }
        finally
        {
            run.Ended = time.GetUtcNow();
            Interlocked.Decrement(ref _running);
        }
    };

    /// <summary>Whether the tick at <paramref name="seconds"/> has run (started).</summary>
    public bool Ran(double seconds) => Runs.Any(r => r.Context.FireTime == CronSim.At(seconds));

    /// <summary>How many times each tick ran.</summary>
    public Dictionary<DateTimeOffset, int> Counts() => Runs.GroupBy(r => r.Context.FireTime).ToDictionary(g => g.Key, g => g.Count());
}

internal sealed class JobRun(CronJobContext context, DateTimeOffset started)
{
    public CronJobContext Context { get; } = context;

    public DateTimeOffset Started { get; } = started;

    public DateTimeOffset? Ended { get; set; }

    public override string ToString() =>
        $"{CronSim.Seconds(Context.FireTime):0.#} on {Context.ReplicaId} (epoch {Context.Epoch}{(Context.IsCatchUp ? ", catch-up" : string.Empty)}) at {CronSim.Seconds(Started):0.0}-{(Ended is { } e ? CronSim.Seconds(e).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) : "?")}";
}
