extern alias RedLockNetBaseline;

using RedLockNet.TestRig;
using StackExchange.Redis;
using BaselineConfiguration = RedLockNetBaseline::RedLockNet.SERedis.Configuration.RedLockConfiguration;
using BaselineConnectionProvider = RedLockNetBaseline::RedLockNet.SERedis.Configuration.ExistingMultiplexersRedLockConnectionProvider;
using BaselineFactory = RedLockNetBaseline::RedLockNet.SERedis.RedLockFactory;
using BaselineMultiplexer = RedLockNetBaseline::RedLockNet.SERedis.Configuration.RedLockMultiplexer;
using BaselineRetryConfiguration = RedLockNetBaseline::RedLockNet.SERedis.Configuration.RedLockRetryConfiguration;

namespace RedLockNet.Benchmarks;

/// <summary>
/// Three local redis-server nodes (started through the test rig, in the process that runs the benchmark) and the
/// clients of each implementation. Every client gets its own connections, one multiplexer per node.
/// Disposing closes every client, then kills the nodes.
/// </summary>
public sealed class BenchmarkNodes : IAsyncDisposable
{
    /// <summary>The node count of every benchmark.</summary>
    public const int NodeCount = 3;

    /// <summary>The lock expiry of every measured operation.</summary>
    public static readonly TimeSpan Expiry = TimeSpan.FromSeconds(30);

    /// <summary>How long a contended lock is held: longer than any benchmark run, so it never expires under the measurement.</summary>
    public static readonly TimeSpan HolderExpiry = TimeSpan.FromMinutes(30);

    private readonly TestNodeCluster cluster;
    private readonly Stack<Func<ValueTask>> cleanups = new();

    private BenchmarkNodes(TestNodeCluster cluster) => this.cluster = cluster;

    /// <summary>The nodes' endpoints, <c>127.0.0.1:port</c>.</summary>
    public IReadOnlyList<string> Endpoints => cluster.Endpoints;

    /// <summary>The nodes themselves, to kill and restart (the load mode's node-killed scenario).</summary>
    public IReadOnlyList<TestNode> Nodes => cluster.Nodes;

    /// <summary>Starts <see cref="NodeCount"/> redis-server processes on free loopback ports.</summary>
    public static async Task<BenchmarkNodes> StartAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var cluster = await TestNodeCluster.StartAsync(NodeCount, NodeBackend.RedisServer, cancellationToken: timeout.Token);
        return new BenchmarkNodes(cluster);
    }

    /// <summary>A RedLockNet factory with its own connections; the default expiry is <see cref="Expiry"/>.</summary>
    public async Task<RedLockFactory> ConnectRedLockNetAsync(bool fencing = true)
    {
        var options = new RedLockOptions { DefaultExpiry = Expiry, Fencing = fencing };
        foreach (var endpoint in Endpoints)
        {
            options.Nodes.Add(endpoint);
        }

        var factory = await RedLockFactory.ConnectAsync(options);
        cleanups.Push(factory.DisposeAsync);
        return factory;
    }

    /// <summary>
    /// A RedLock.net 2.3.2 factory over its own multiplexers. <paramref name="retryCount"/> <see langword="null"/>
    /// keeps its default (3 quorum attempts, a random pause of up to 400 ms between them).
    /// </summary>
    public async Task<BaselineFactory> ConnectRedLockDotNetAsync(int? retryCount = null)
    {
        var multiplexers = (await ConnectMultiplexersAsync()).Select(m => new BaselineMultiplexer(m)).ToList();
        var factory = retryCount is null
            ? BaselineFactory.Create(multiplexers)
            : new BaselineFactory(new BaselineConfiguration(new BaselineConnectionProvider { Multiplexers = multiplexers })
            {
                RetryConfiguration = new BaselineRetryConfiguration(retryCount),
            });
        cleanups.Push(() =>
        {
            factory.Dispose(); // does not close caller-owned multiplexers; those were registered before
            return ValueTask.CompletedTask;
        });
        return factory;
    }

    /// <summary>One database per node, each on its own multiplexer, for DistributedLock.Redis.</summary>
    public async Task<IReadOnlyList<IDatabase>> ConnectDistributedLockAsync() =>
        [.. (await ConnectMultiplexersAsync()).Select(m => m.GetDatabase())];

    /// <summary>Runs <paramref name="cleanup"/> on dispose, before the clients registered earlier are closed.</summary>
    public void OnDispose(Func<ValueTask> cleanup) => cleanups.Push(cleanup);

    /// <summary>Closes the clients (latest first), then kills the nodes.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            while (cleanups.TryPop(out var cleanup))
            {
                await cleanup();
            }
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    private async Task<ConnectionMultiplexer[]> ConnectMultiplexersAsync()
    {
        var multiplexers = await Task.WhenAll(Endpoints.Select(endpoint => ConnectionMultiplexer.ConnectAsync(endpoint)));
        foreach (var multiplexer in multiplexers)
        {
            cleanups.Push(multiplexer.DisposeAsync);
        }

        return multiplexers;
    }
}
