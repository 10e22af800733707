using RedLockNet.Idempotency;
using StackExchange.Redis;

namespace RedLockNet.Chaos;

/// <summary>
/// One webhook delivery through <see cref="IdempotentProcessor"/>, as a worker process makes it: the handler counts
/// its start on the resource node (the side effect a killed process leaves behind), then works for a while, and
/// returns its run's fencing token. Events: handler-started (Token = the run's fencing token), completed or replayed
/// (Value = the result: the token of the run that completed), error (the exception type).
/// </summary>
public static class IdempotentDelivery
{
    public static async Task RunAsync(IDistributedLockFactory locks, IDatabase resource, string deliveryKey, string startsKey, string client, TimeSpan lockExpiry, TimeSpan work, Action<ChaosEvent> emit)
    {
        if (locks is not ILockFactoryWithRecords withRecords)
        {
            throw new ArgumentException("The factory must keep records.", nameof(locks));
        }

        var processor = new IdempotentProcessor(withRecords, new IdempotencyOptions { LockExpiry = lockExpiry, WaitTimeout = TimeSpan.FromSeconds(30) });
        try
        {
            var outcome = await processor.RunOnceAsync(deliveryKey, async (context, ct) =>
            {
                await resource.StringIncrementAsync(startsKey);
                emit(new ChaosEvent(client, "handler-started", ChaosEvent.Now, Token: context.FencingToken));
                await Task.Delay(work, ct);
                return context.FencingToken;
            });
            emit(new ChaosEvent(client, outcome.Executed ? "completed" : "replayed", ChaosEvent.Now, Value: outcome.Result));
        }
        catch (Exception ex) when (ex is RedLockException or RedisException)
        {
            emit(new ChaosEvent(client, "error", ChaosEvent.Now, Error: ex.GetType().Name));
        }
    }
}
