namespace RedLockNet.Tests.Unit.Integration;

/// <summary>Eight callers taking one lock in turn for a while (1 ms hold), counting what each got and any overlap.</summary>
internal static class ContentionRun
{
    public static async Task<(int[] Served, int Overlaps)> RunAsync(string resource, Func<int, RedLockFactory> factoryOf, TimeSpan duration, int callers = 8)
    {
        var request = new LockRequest { Expiry = TimeSpan.FromSeconds(10), WaitTimeout = TimeSpan.FromSeconds(20) };
        var served = new int[callers];
        var holders = 0;
        var overlaps = 0;
        var until = DateTime.UtcNow + duration;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            var locks = factoryOf(caller);
            while (DateTime.UtcNow < until)
            {
                await using var handle = await locks.AcquireAsync(resource, request, Clusters.Bound(60));
                if (Interlocked.Increment(ref holders) > 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                served[caller]++;
                await Task.Delay(1, TestContext.Current.CancellationToken);
                Interlocked.Decrement(ref holders);
            }
        })));

        var fair = served.Sum() / (double)callers;
        TestContext.Current.TestOutputHelper?.WriteLine($"served: {string.Join(", ", served)}; least {served.Min() / fair:P0} of a fair share");
        return (served, overlaps);
    }
}
