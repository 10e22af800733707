using BenchmarkDotNet.Attributes;

namespace RedLockNet.Benchmarks;

/// <summary>
/// Acquire + release of each coordination primitive on the same 3 local nodes, against the lock's as the baseline
/// (fresh resources each time, nobody contending): a semaphore permit (a scan round, then the lock on a slot), a read
/// lock, the write lock, and two locks at once (two lock rounds, in order).
/// </summary>
[MemoryDiagnoser]
public class PrimitivesBenchmarks : NodeBenchmark
{
    private RedLockFactory? locks;
    private long next;

    [GlobalSetup]
    public async Task SetupAsync() => locks = await (await StartNodesAsync()).ConnectRedLockNetAsync();

    [Benchmark(Baseline = true, Description = "lock")]
    public async Task Lock()
    {
        var handle = await locks!.AcquireAsync("bench-lock-" + Interlocked.Increment(ref next), CancellationToken.None);
        await handle.ReleaseAsync();
    }

    [Benchmark(Description = "semaphore (3 permits)")]
    public async Task Semaphore()
    {
        var permit = await locks!.AcquireSemaphoreAsync("bench-sem-" + Interlocked.Increment(ref next), 3);
        await permit.ReleaseAsync();
    }

    [Benchmark(Description = "read lock")]
    public async Task Read()
    {
        var read = await locks!.AcquireReadAsync("bench-rw-" + Interlocked.Increment(ref next));
        await read.ReleaseAsync();
    }

    [Benchmark(Description = "write lock")]
    public async Task Write()
    {
        var write = await locks!.AcquireWriteAsync("bench-rw-" + Interlocked.Increment(ref next));
        await write.ReleaseAsync();
    }

    [Benchmark(Description = "two locks at once (in order)")]
    public async Task Two()
    {
        var n = Interlocked.Increment(ref next);
        var both = await locks!.AcquireAllAsync([$"bench-a-{n}", $"bench-b-{n}"]);
        await both.ReleaseAsync();
    }

    [Benchmark(Description = "two locks in one hash slot (one round)")]
    public async Task TwoInOneSlot()
    {
        var n = Interlocked.Increment(ref next);
        var both = await locks!.AcquireAllAsync([$"{{bench-{n}}}:a", $"{{bench-{n}}}:b"]);
        await both.ReleaseAsync();
    }
}
