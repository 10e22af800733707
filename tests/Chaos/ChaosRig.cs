using System.Globalization;
using RedLockNet.TestRig;
using StackExchange.Redis;

namespace RedLockNet.Chaos;

/// <summary>One protected resource of a scenario: its lock, its counter on the resource node, and what clients did to it.</summary>
internal sealed class LockGroup(string lockName, string label)
{
    public string Label { get; } = label;

    public string LockName { get; } = lockName;

    public string CounterKey { get; } = lockName + ":counter";

    public History History { get; } = new();
}

/// <summary>A client that reaches each lock node through its own <see cref="FaultProxy"/>, so its links can be cut alone.</summary>
internal sealed record ProxiedClient(string Name, RedLockFactory Factory, IReadOnlyList<FaultProxy> Proxies)
{
    /// <summary>Sets the fault of this client's links to the given nodes.</summary>
    public void Cut(LinkFault fault, params int[] nodes)
    {
        foreach (var n in nodes)
        {
            Proxies[n].Fault = fault;
        }
    }

    /// <summary>Lifts every fault of this client's links (links that lost bytes are reset).</summary>
    public void Heal() => Cut(LinkFault.None, [.. Enumerable.Range(0, Proxies.Count)]);
}

/// <summary>Three lock nodes and a separate resource node (all 127.0.0.1), the factories and the history of one scenario.</summary>
internal sealed class ChaosRig : IAsyncDisposable
{
    /// <summary>How long a node may take to be killed, restarted, paused or resumed (a Garnet restart is a new dotnet process).</summary>
    private static readonly TimeSpan NodeOpBound = TimeSpan.FromSeconds(45);

    private static readonly SemaphoreSlim SharedGate = new(1, 1);
    private static TestNodeCluster? shared;

    private readonly List<IAsyncDisposable> owned = [];
    private readonly ConnectionMultiplexer?[] admins = new ConnectionMultiplexer?[3];
    private readonly string name;

    private ChaosRig(TestNodeCluster cluster, ConnectionMultiplexer resource, string name)
    {
        Cluster = cluster;
        Resource = resource;
        this.name = $"chaos:{name}:{Guid.NewGuid():N}";
        Main = new LockGroup(this.name, "main");
    }

    /// <summary>The scenario's main resource (most scenarios have only this one).</summary>
    public LockGroup Main { get; }

    public TestNodeCluster Cluster { get; }

    public IReadOnlyList<TestNode> LockNodes => [.. Cluster.Nodes.Take(3)];

    public IReadOnlyList<string> LockEndpoints => [.. Cluster.Endpoints.Take(3)];

    public string ResourceEndpoint => Cluster.Endpoints[3];

    public ConnectionMultiplexer Resource { get; }

    public History History => Main.History;

    public string LockName => Main.LockName;

    public string CounterKey => Main.CounterKey;

    public string Backend => Cluster.Backend.ToString();

    /// <summary>
    /// A scenario's rig on the suite's nodes: the 4 nodes are started once and shared by the scenarios, which run one
    /// at a time and use their own lock names; they are started afresh when a scenario left one down or paused (a
    /// Garnet start costs seconds per node). The nodes are killed when the test process exits.
    /// </summary>
    public static async Task<ChaosRig> StartAsync(string name, CancellationToken cancellationToken)
    {
        var cluster = await SharedClusterAsync(cancellationToken);
        var resource = await Bounded.Within(ConnectionMultiplexer.ConnectAsync(cluster.Endpoints[3] + ",abortConnect=false,connectTimeout=2000"), TimeSpan.FromSeconds(20), "connecting to the resource node");
        return new ChaosRig(cluster, resource, name);
    }

    private static async Task<TestNodeCluster> SharedClusterAsync(CancellationToken cancellationToken)
    {
        await SharedGate.WaitAsync(cancellationToken);
        try
        {
            if (shared is { } cluster && cluster.Nodes.All(n => n.IsRunning && !n.IsPaused))
            {
                return cluster;
            }

            if (shared is not null)
            {
                await shared.DisposeAsync();
            }

            shared = await TestNodeCluster.StartAsync(4, backend: null, log: Log, cancellationToken);
            return shared;
        }
        finally
        {
            SharedGate.Release();
        }
    }

    public static void Log(string line)
    {
        try
        {
            TestContext.Current.TestOutputHelper?.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
        }
    }

    public async Task<RedLockFactory> FactoryAsync(Action<RedLockOptions>? configure = null, IEnumerable<string>? endpoints = null)
    {
        var options = new RedLockOptions
        {
            NodeTimeout = TimeSpan.FromMilliseconds(500),
            ConnectTimeout = TimeSpan.FromSeconds(2),
            WaitTimeout = TimeSpan.FromSeconds(5),
        };
        foreach (var endpoint in endpoints ?? LockEndpoints)
        {
            options.Nodes.Add(endpoint);
        }

        configure?.Invoke(options);
        var factory = await Bounded.Within(RedLockFactory.ConnectAsync(options, Scenarios.Bound(30)), TimeSpan.FromSeconds(40), "connecting a factory");
        owned.Add(factory);
        return factory;
    }

    /// <summary>kill -9 of lock node <paramref name="node"/>, bounded.</summary>
    public Task KillAsync(int node) => Bounded.Within(LockNodes[node].KillAsync(), NodeOpBound, $"kill -9 of n{node}");

    /// <summary>Restarts lock node <paramref name="node"/> empty, bounded.</summary>
    public Task RestartAsync(int node) => Bounded.Within(LockNodes[node].RestartAsync(Scenarios.Bound()), NodeOpBound, $"restart of n{node}");

    /// <summary>SIGSTOP of lock node <paramref name="node"/>, bounded.</summary>
    public Task PauseAsync(int node) => Bounded.Within(LockNodes[node].PauseAsync(), NodeOpBound, $"SIGSTOP of n{node}");

    /// <summary>SIGCONT of lock node <paramref name="node"/>, bounded.</summary>
    public Task ResumeAsync(int node) => Bounded.Within(LockNodes[node].ResumeAsync(), NodeOpBound, $"SIGCONT of n{node}");

    /// <summary>A factory whose every node is reached through a proxy of its own (seeded for Slow delays).</summary>
    public async Task<ProxiedClient> ProxiedAsync(string client, int seed, Action<RedLockOptions>? configure = null)
    {
        var proxies = LockNodes.Select((n, i) => new FaultProxy(n.Port, seed + i)).ToList();
        foreach (var p in proxies)
        {
            Own(p);
        }

        return new ProxiedClient(client, await FactoryAsync(configure, proxies.Select(p => p.Endpoint)), proxies);
    }

    /// <summary>Another resource of this scenario, with its own lock, counter and history.</summary>
    public LockGroup Group(string suffix) => new($"{name}:{suffix}", suffix);

    /// <summary>Every checker on every group (each against its own counter); violations are prefixed with the group's label.</summary>
    public async Task<List<string>> CheckAllAsync(IEnumerable<LockGroup> groups, bool fencing)
    {
        var violations = new List<string>();
        foreach (var g in groups)
        {
            violations.AddRange(Checkers.All(g.History.Snapshot(), await ReadCounterAsync(g, fencing)).Select(v => $"{g.Label}: {v}"));
        }

        return violations;
    }

    /// <summary>The histories of <paramref name="groups"/> as one, in time order (for counting; checkers run per group).</summary>
    public static IReadOnlyList<ChaosEvent> Combined(IEnumerable<LockGroup> groups) => [.. groups.SelectMany(g => g.History.Snapshot()).OrderBy(e => e.T)];

    public ChaosWorker Worker(string client, RedLockFactory locks, TimeSpan ttl, bool fencing, TimeSpan think, TimeSpan wait) =>
        Worker(Main, client, locks, ttl, fencing, think, wait);

    public ChaosWorker Worker(LockGroup group, string client, IDistributedLockFactory locks, TimeSpan ttl, bool fencing, TimeSpan think, TimeSpan wait, Action<ChaosEvent>? observe = null, bool fencedReads = true, bool writes = false) =>
        new(client, locks, Resource.GetDatabase(), group.LockName, group.CounterKey, ttl, fencing, think, wait, e =>
        {
            group.History.Add(e);
            observe?.Invoke(e);
        })
        { FencedReads = fencedReads, Writes = writes };

    public Task<long> ReadCounterAsync(bool fencing) => ReadCounterAsync(Main, fencing);

    public async Task<long> ReadCounterAsync(LockGroup group, bool fencing)
    {
        var db = Resource.GetDatabase();
        if (fencing)
        {
            var stored = await Bounded.Within(db.FencedGetAsync(group.CounterKey), TimeSpan.FromSeconds(10), $"reading {group.CounterKey}");
            return stored is { } s ? (long)s.Value : 0;
        }

        var raw = await Bounded.Within(db.StringGetAsync(group.CounterKey), TimeSpan.FromSeconds(10), $"reading {group.CounterKey}");
        return raw.IsNull ? 0 : (long)raw;
    }

    /// <summary>A direct connection to lock node <paramref name="node"/> (no proxy), for the nemesis; it reconnects after restarts.</summary>
    public async Task<ConnectionMultiplexer> AdminAsync(int node)
    {
        if (admins[node] is { } existing)
        {
            return existing;
        }

        var admin = await Bounded.Within(
            ConnectionMultiplexer.ConnectAsync($"{LockEndpoints[node]},abortConnect=false,connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000,allowAdmin=true"),
            TimeSpan.FromSeconds(10), $"admin connection to n{node}");
        admins[node] = admin;
        Own(admin);
        return admin;
    }

    /// <summary>Emulates a forward step of lock node <paramref name="node"/>'s wall clock: see <see cref="ClockStep"/>.</summary>
    public async Task<int> StepClockAsync(int node, TimeSpan step, string pattern = "*") => await ClockStep.EmulateAsync(await AdminAsync(node), LockEndpoints[node], step, pattern);

    /// <summary>The lock nodes on which <paramref name="lockName"/>'s key stands now (default key prefix).</summary>
    public async Task<List<int>> NodesHoldingAsync(string lockName)
    {
        var holding = new List<int>();
        for (var node = 0; node < LockNodes.Count; node++)
        {
            var admin = await AdminAsync(node);
            if (await Bounded.Within(admin.GetDatabase().KeyExistsAsync("redlock:{" + lockName + "}"), TimeSpan.FromSeconds(5), $"EXISTS on n{node}"))
            {
                holding.Add(node);
            }
        }

        return holding;
    }

    public void Own(IAsyncDisposable disposable) => owned.Add(disposable);

    /// <summary>Prints and files the scenario's summary line: scenario | backend | seed | faults | ops | violations.</summary>
    public void Report(string scenario, int seed, string faults, TimeSpan duration, IReadOnlyList<string> violations) =>
        Report(scenario, seed, faults, duration, violations, History.Snapshot());

    public void Report(string scenario, int seed, string faults, TimeSpan duration, IReadOnlyList<string> violations, IReadOnlyList<ChaosEvent> h)
    {
        var ops = string.Create(CultureInfo.InvariantCulture,
            $"acq={h.Count(e => e.Kind == "acquired")} fail={h.Count(e => e.Kind == "acquire-failed")} lost={h.Count(e => e.Kind == "lost")} ok={h.Count(e => e.Kind == "write-ok")} refused={h.Count(e => e.Kind == "write-refused")}");
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{scenario} | {Backend} | {seed} | {faults} | {ops} | {violations.Count} | {duration.TotalSeconds:0.0}s");
        Log(line);
        foreach (var v in violations.Take(5))
        {
            Log("  " + v);
        }

        Console.WriteLine(line);
        File.AppendAllText(Path.Combine(AppContext.BaseDirectory, "chaos-results.log"), $"{DateTime.UtcNow:O} {line}{Environment.NewLine}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(owned))
        {
            try
            {
                await d.DisposeAsync();
            }
            catch (Exception ex) when (ex is RedLockException or RedisException or ObjectDisposedException)
            {
            }
        }

        await Resource.DisposeAsync();
    }
}
