using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>
/// Key layout: <c>{prefix}{{resource}}</c>. The braces make the resource a Redis Cluster hash tag, so every key
/// RedLockNet keeps for one resource lands in one slot.
/// </summary>
internal static class LockKeys
{
    public static RedisKey For(string prefix, string resource) => (RedisKey)string.Concat(prefix, "{", resource, "}");

    /// <summary>The resource's fencing counter: the lock key plus <c>:fence</c>, so the same hash tag and slot.</summary>
    public static RedisKey FenceFor(RedisKey lockKey) => lockKey.Append(":fence");

    /// <summary>A semaphore's record of its permit count (every client must ask for the same count).</summary>
    public static RedisKey SemaphoreCountFor(RedisKey lockKey) => lockKey.Append(":sem");

    /// <summary>The keys of a semaphore's <paramref name="maxCount"/> slots, one lock per permit, in the resource's slot.</summary>
    public static RedisKey[] SemaphoreSlotsFor(RedisKey lockKey, int maxCount)
    {
        var slots = new RedisKey[maxCount];
        for (var i = 0; i < maxCount; i++)
        {
            slots[i] = lockKey.Append(string.Concat(":sem:", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return slots;
    }

    /// <summary>The keys of a reader-writer lock: the writer's, the waiting writer's, and the readers' index.</summary>
    public static (RedisKey Writer, RedisKey Waiting, RedisKey Readers) ReaderWriterFor(RedisKey lockKey) =>
        (lockKey.Append(":rw"), lockKey.Append(":rw:wants"), lockKey.Append(":rw:readers"));

    /// <summary>A reader's own key (<paramref name="name"/> random), in the lock's slot.</summary>
    public static RedisKey ReaderFor(RedisKey lockKey, string name) => lockKey.Append(string.Concat(":rw:r:", name));

    /// <summary>Redis Cluster's number of hash slots.</summary>
    public const int SlotCount = Nodes.KeySlots.Count;

    /// <summary>The Redis Cluster hash slot of <paramref name="key"/> (<see cref="Nodes.KeySlots.Of(RedisKey)"/>).</summary>
    public static int HashSlot(RedisKey key) => Nodes.KeySlots.Of(key);

    /// <summary>Whether the keys all land in one hash slot, so that one script may touch them all on a cluster too.</summary>
    public static bool ShareSlot(ReadOnlySpan<RedisKey> keys)
    {
        var first = keys.IsEmpty ? 0 : HashSlot(keys[0]);
        for (var i = 1; i < keys.Length; i++)
        {
            if (HashSlot(keys[i]) != first)
            {
                return false;
            }
        }

        return true;
    }
}
