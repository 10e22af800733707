using BenchmarkDotNet.Attributes;
using RedLockNet.Idempotency;

namespace RedLockNet.Benchmarks;

/// <summary>
/// What idempotent processing adds per delivery on 3 local redis-server nodes, with a handler that does nothing:
/// a first delivery (read, lock, read again, run, record on a majority, release) and a replay (one majority read).
/// A plain acquire + release is the baseline.
/// </summary>
[MemoryDiagnoser]
public class IdempotencyBenchmarks : NodeBenchmark
{
    private static readonly Task<int> Handled = Task.FromResult(42);

    private RedLockFactory? locks;
    private IdempotentProcessor? processor;
    private string replayKey = "";
    private long next;

    /// <summary>Starts the nodes and stores one completed delivery to replay.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        var nodes = await StartNodesAsync();
        locks = await nodes.ConnectRedLockNetAsync();
        processor = new IdempotentProcessor(locks, new IdempotencyOptions { Retention = TimeSpan.FromMinutes(30) });
        replayKey = "bench-replay-" + Guid.NewGuid().ToString("N");
        await processor.RunOnceAsync(replayKey, _ => Handled);
    }

    /// <summary>Baseline: one acquire and release of a fresh resource.</summary>
    [Benchmark(Baseline = true, Description = "acquire + release")]
    public async Task AcquireRelease()
    {
        var handle = await locks!.AcquireAsync("bench-lock-" + Interlocked.Increment(ref next), CancellationToken.None);
        await handle.ReleaseAsync();
    }

    /// <summary>A delivery of a new key: the handler runs and its completion is recorded.</summary>
    [Benchmark(Description = "first delivery")]
    public Task<IdempotencyOutcome<int>> FirstDelivery() =>
        processor!.RunOnceAsync("bench-first-" + Interlocked.Increment(ref next), _ => Handled);

    /// <summary>A repeated delivery: the stored result comes back.</summary>
    [Benchmark(Description = "replay")]
    public Task<IdempotencyOutcome<int>> Replay() => processor!.RunOnceAsync(replayKey, _ => Handled);
}
