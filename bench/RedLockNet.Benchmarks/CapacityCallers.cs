using System.Globalization;
using StackExchange.Redis;

namespace RedLockNet.Benchmarks;

/// <summary>
/// Concurrent callers on one factory, each looping acquire + release on a fresh random resource name (no two calls
/// ever contend), counting completed pairs and failures until disposed.
/// </summary>
internal sealed class CapacityCallers : IAsyncDisposable
{
    /// <summary>Disposing waits this long at most for the pairs in flight.</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(30);

    private readonly IDistributedLockFactory factory;
    private readonly CancellationTokenSource stop = new();
    private readonly Task[] loops;
    private long pairs;
    private long failures;
    private string? firstFailure;

    /// <summary>Starts <paramref name="callers"/> loops on the thread pool.</summary>
    public CapacityCallers(IDistributedLockFactory factory, int callers)
    {
        this.factory = factory;
        loops = [.. Enumerable.Range(0, callers).Select(_ => Task.Run(LoopAsync))];
    }

    /// <summary>Acquire + release pairs completed so far.</summary>
    public long Pairs => Interlocked.Read(ref pairs);

    /// <summary>Acquisitions or releases that threw so far.</summary>
    public long Failures => Interlocked.Read(ref failures);

    /// <summary>The first failure's type and message, if any.</summary>
    public string? FirstFailure => Volatile.Read(ref firstFailure);

    /// <summary>Stops the loops (an acquisition in flight is cancelled) and waits for them.</summary>
    /// <exception cref="TimeoutException">A loop did not end within 30 s.</exception>
    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await Task.WhenAll(loops).WaitAsync(StopBound);
        stop.Dispose();
    }

    private async Task LoopAsync()
    {
        var token = stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await using (await factory.AcquireAsync(NewResource(), token))
                {
                }

                Interlocked.Increment(ref pairs);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // stopped
            }
            catch (Exception ex) when (ex is RedLockException or RedisException or TimeoutException)
            {
                Interlocked.Increment(ref failures);
                Interlocked.CompareExchange(ref firstFailure, $"{ex.GetType().Name}: {ex.Message}", null);
            }
        }
    }

    private static string NewResource() => string.Create(CultureInfo.InvariantCulture, $"capacity:{Random.Shared.NextInt64():x16}");
}
