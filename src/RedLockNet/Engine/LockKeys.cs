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
}
