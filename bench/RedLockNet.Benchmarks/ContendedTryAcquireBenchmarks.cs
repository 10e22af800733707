extern alias RedLockNetBaseline;

using BenchmarkDotNet.Attributes;
using Medallion.Threading.Redis;
using BaselineFactory = RedLockNetBaseline::RedLockNet.SERedis.RedLockFactory;

namespace RedLockNet.Benchmarks;

/// <summary>
/// The failing path: one no-wait try at a lock that another client (own connections, same implementation) holds for
/// the whole run, on 3 local redis-server nodes. Each measured try throws if it acquires, so only failures are timed.
/// </summary>
[MemoryDiagnoser]
public class ContendedTryAcquireBenchmarks : NodeBenchmark
{
    private const string Resource = "bench-contended";

    private RedLockFactory? redLockNet;
    private BaselineFactory? redLockDotNetOneAttempt;
    private BaselineFactory? redLockDotNetDefault;
    private RedisDistributedLock? distributedLock;

    /// <summary>Starts the nodes, takes the lock with a holder client per implementation, and connects the contenders.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        var nodes = await StartNodesAsync();

        // the holders: their locks outlive the run and are released on cleanup, before the nodes are killed
        var redLockNetHolder = await nodes.ConnectRedLockNetAsync();
        var held = await redLockNetHolder.AcquireAsync(Resource, new LockRequest { Expiry = BenchmarkNodes.HolderExpiry });
        nodes.OnDispose(() => held.DisposeAsync());

        var redLockDotNetHolder = await nodes.ConnectRedLockDotNetAsync();
        var heldBaseline = await redLockDotNetHolder.CreateLockAsync(Resource, BenchmarkNodes.HolderExpiry);
        if (!heldBaseline.IsAcquired)
        {
            throw new InvalidOperationException($"The RedLock.net holder did not get the lock: {heldBaseline.Status}.");
        }

        nodes.OnDispose(() => heldBaseline.DisposeAsync());

        var distributedLockHolder = new RedisDistributedLock(
            Resource, await nodes.ConnectDistributedLockAsync(), o => o.Expiry(BenchmarkNodes.HolderExpiry));
        var heldDistributed = await distributedLockHolder.AcquireAsync(TimeSpan.FromSeconds(10));
        nodes.OnDispose(() => heldDistributed.DisposeAsync());

        // the contenders, each on its own connections
        redLockNet = await nodes.ConnectRedLockNetAsync();
        redLockDotNetOneAttempt = await nodes.ConnectRedLockDotNetAsync(retryCount: 1);
        redLockDotNetDefault = await nodes.ConnectRedLockDotNetAsync();
        distributedLock = new RedisDistributedLock(Resource, await nodes.ConnectDistributedLockAsync(), o => o.Expiry(BenchmarkNodes.Expiry));
    }

    /// <summary>RedLockNet: <c>TryAcquireAsync</c> (one attempt) returns <see langword="null"/>.</summary>
    [Benchmark(Baseline = true, Description = "RedLockNet")]
    public async Task RedLockNetTryAcquire()
    {
        var handle = await redLockNet!.TryAcquireAsync(Resource, CancellationToken.None);
        if (handle is not null)
        {
            await handle.ReleaseAsync();
            throw new InvalidOperationException("RedLockNet acquired a lock that is held.");
        }
    }

    /// <summary>RedLock.net with <c>RetryCount = 1</c>: one quorum attempt, like the other two.</summary>
    [Benchmark(Description = "RedLock.net 2.3.2 (1 attempt)")]
    public Task RedLockDotNetOneAttemptTryAcquire() => TryRedLockDotNetAsync(redLockDotNetOneAttempt!);

    /// <summary>
    /// RedLock.net out of the box: <c>CreateLockAsync(resource, expiry)</c> without a wait still makes 3 quorum
    /// attempts with random pauses of up to 400 ms between them before it reports a conflict.
    /// </summary>
    [Benchmark(Description = "RedLock.net 2.3.2 (defaults)")]
    public Task RedLockDotNetDefaultTryAcquire() => TryRedLockDotNetAsync(redLockDotNetDefault!);

    /// <summary>DistributedLock.Redis: <c>TryAcquireAsync(TimeSpan.Zero)</c> returns <see langword="null"/>.</summary>
    [Benchmark(Description = "DistributedLock.Redis 1.1.1")]
    public async Task DistributedLockTryAcquire()
    {
        var handle = await distributedLock!.TryAcquireAsync(TimeSpan.Zero);
        if (handle is not null)
        {
            await handle.DisposeAsync();
            throw new InvalidOperationException("DistributedLock.Redis acquired a lock that is held.");
        }
    }

    private static async Task TryRedLockDotNetAsync(BaselineFactory factory)
    {
        var redLock = await factory.CreateLockAsync(Resource, BenchmarkNodes.Expiry);
        var acquired = redLock.IsAcquired;
        await redLock.DisposeAsync();
        if (acquired)
        {
            throw new InvalidOperationException("RedLock.net acquired a lock that is held.");
        }
    }
}
