using System.Globalization;
using RedLockNet.TestRig;
using StackExchange.Redis;

namespace RedLockNet.Chaos;

/// <summary>Three lock nodes and a separate resource node (all 127.0.0.1), the factories and the history of one scenario.</summary>
internal sealed class ChaosRig : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> owned = [];

    private ChaosRig(TestNodeCluster cluster, ConnectionMultiplexer resource, string name)
    {
        Cluster = cluster;
        Resource = resource;
        LockName = $"chaos:{name}:{Guid.NewGuid():N}";
        CounterKey = LockName + ":counter";
    }

    public TestNodeCluster Cluster { get; }

    public IReadOnlyList<TestNode> LockNodes => [.. Cluster.Nodes.Take(3)];

    public IReadOnlyList<string> LockEndpoints => [.. Cluster.Endpoints.Take(3)];

    public string ResourceEndpoint => Cluster.Endpoints[3];

    public ConnectionMultiplexer Resource { get; }

    public History History { get; } = new();

    public string LockName { get; }

    public string CounterKey { get; }

    public string Backend => Cluster.Backend.ToString();

    public static async Task<ChaosRig> StartAsync(string name, CancellationToken cancellationToken)
    {
        var cluster = await TestNodeCluster.StartAsync(4, backend: null, log: Log, cancellationToken);
        try
        {
            var resource = await ConnectionMultiplexer.ConnectAsync(cluster.Endpoints[3] + ",abortConnect=false,connectTimeout=2000");
            return new ChaosRig(cluster, resource, name);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
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
        var factory = await RedLockFactory.ConnectAsync(options, Scenarios.Bound(30));
        owned.Add(factory);
        return factory;
    }

    public ChaosWorker Worker(string client, RedLockFactory locks, TimeSpan ttl, bool fencing, TimeSpan think, TimeSpan wait) =>
        new(client, locks, Resource.GetDatabase(), LockName, CounterKey, ttl, fencing, think, wait, History.Add);

    public async Task<long> ReadCounterAsync(bool fencing)
    {
        var db = Resource.GetDatabase();
        if (fencing)
        {
            var stored = await db.FencedGetAsync(CounterKey);
            return stored is { } s ? (long)s.Value : 0;
        }

        var raw = await db.StringGetAsync(CounterKey);
        return raw.IsNull ? 0 : (long)raw;
    }

    public void Own(IAsyncDisposable disposable) => owned.Add(disposable);

    /// <summary>Prints and files the scenario's summary line: scenario | backend | seed | faults | ops | violations.</summary>
    public void Report(string scenario, int seed, string faults, TimeSpan duration, IReadOnlyList<string> violations)
    {
        var h = History.Snapshot();
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
        await Cluster.DisposeAsync();
    }
}
