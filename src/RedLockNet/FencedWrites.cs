using RedLockNet.Timing;
using RedLockNet.Engine;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet;

/// <summary>
/// Writes to a Redis-stored resource that refuse stale lock holders: each value is stored with the fencing token of
/// the holder that wrote it, and a write with a lower token than the stored one is refused. Use it on the Redis that
/// holds your data, not on the lock nodes.
/// </summary>
public static class FencedWrites
{
    /// <summary>
    /// Stores <paramref name="value"/> under <paramref name="key"/> (a hash with fields <c>value</c> and <c>fence</c>)
    /// unless a write with a higher fencing token got there first. The same holder may write again with its token.
    /// </summary>
    /// <returns>True when written; false when refused because a later holder has written.</returns>
    /// <remarks><paramref name="cancellationToken"/> stops the wait; a write already sent may still land.</remarks>
    public static async Task<bool> FencedSetAsync(this IDatabaseAsync database, RedisKey key, RedisValue value, long fencingToken, TimeSpan? expiry = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fencingToken);
        if (expiry is { } ttl && ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(expiry), expiry, "The expiry must be positive.");
        }

        var ttlMs = expiry is { } e ? TimeUnits.ToRedisMilliseconds(e) : 0;
        var call = new FencedSetCall(key, value, fencingToken, ttlMs).ToCall();
        var result = await call.Script.EvaluateAsync(database, call.Keys, call.Args).WaitAsync(cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <summary>Reads a value written by <see cref="FencedSetAsync"/> and the token it was written with; null when absent.</summary>
    public static async Task<(RedisValue Value, long FencingToken)?> FencedGetAsync(this IDatabaseAsync database, RedisKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        var fields = await database.HashGetAsync(key, ["value", "fence"]).WaitAsync(cancellationToken).ConfigureAwait(false);
        return fields[1].IsNull ? null : (fields[0], (long)fields[1]);
    }
}
