extern alias RedLockNetBaseline;

using BenchmarkDotNet.Attributes;
using Medallion.Threading.Redis;
using BaselineFactory = RedLockNetBaseline::RedLockNet.SERedis.RedLockFactory;

namespace RedLockNet.Benchmarks;

/// <summary>
/// One uncontended acquire followed by its release, sequentially, on 3 local redis-server nodes: RedLockNet against
/// RedLock.net 2.3.2 and DistributedLock.Redis 1.1.1 (Redlock mode: one database per node). Expiry 30 s for all.
/// </summary>
[MemoryDiagnoser]
public class AcquireReleaseBenchmarks : NodeBenchmark
{
    private const string Resource = "bench-acquire-release";

    private RedLockFactory? redLockNet;
    private RedLockFactory? redLockNetUnfenced;
    private BaselineFactory? redLockDotNet;
    private RedisDistributedLock? distributedLock;

    /// <summary>Starts the nodes in the benchmark process and connects every implementation.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        var nodes = await StartNodesAsync();
        redLockNet = await nodes.ConnectRedLockNetAsync();
        redLockNetUnfenced = await nodes.ConnectRedLockNetAsync(fencing: false);
        redLockDotNet = await nodes.ConnectRedLockDotNetAsync();
        distributedLock = new RedisDistributedLock(Resource, await nodes.ConnectDistributedLockAsync(), o => o.Expiry(BenchmarkNodes.Expiry));
    }

    /// <summary>RedLockNet: <c>AcquireAsync</c>, then <c>ReleaseAsync</c>.</summary>
    [Benchmark(Baseline = true, Description = "RedLockNet")]
    public async Task RedLockNetAcquireRelease()
    {
        var handle = await redLockNet!.AcquireAsync(Resource, CancellationToken.None);
        await handle.ReleaseAsync();
    }

    /// <summary>RedLockNet with fencing tokens off: what the fencing counter costs.</summary>
    [Benchmark(Description = "RedLockNet (fencing off)")]
    public async Task RedLockNetUnfencedAcquireRelease()
    {
        var handle = await redLockNetUnfenced!.AcquireAsync(Resource + ":unfenced", CancellationToken.None);
        await handle.ReleaseAsync();
    }

    /// <summary>RedLock.net: <c>CreateLockAsync(resource, expiry)</c>, then dispose (which unlocks).</summary>
    [Benchmark(Description = "RedLock.net 2.3.2")]
    public async Task RedLockDotNetAcquireRelease()
    {
        var redLock = await redLockDotNet!.CreateLockAsync(Resource, BenchmarkNodes.Expiry);
        try
        {
            if (!redLock.IsAcquired)
            {
                throw new InvalidOperationException($"RedLock.net did not acquire the free lock: {redLock.Status}.");
            }
        }
        finally
        {
            await redLock.DisposeAsync();
        }
    }

    /// <summary>DistributedLock.Redis: <c>AcquireAsync</c>, then dispose the handle (which releases).</summary>
    [Benchmark(Description = "DistributedLock.Redis 1.1.1")]
    public async Task DistributedLockAcquireRelease()
    {
        var handle = await distributedLock!.AcquireAsync();
        await handle.DisposeAsync();
    }
}
