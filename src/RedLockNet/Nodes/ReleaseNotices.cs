using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>
/// A node that can tell when a lock was released: release.lua publishes on <c>{lock key}:released</c>. Simulated
/// nodes do without; waiting then falls back to polling alone.
/// </summary>
internal interface IReleaseNotices
{
    /// <summary>
    /// Calls <paramref name="released"/> each time the lock at <paramref name="lockKey"/> is released on this node,
    /// until the returned subscription is disposed. Subscribing and unsubscribing are sent in the background; a node
    /// that is down simply sends nothing.
    /// </summary>
    IDisposable Subscribe(RedisKey lockKey, Action released);
}

/// <summary>The channel a node publishes a lock's releases on.</summary>
internal static class ReleaseChannel
{
    public static RedisChannel For(RedisKey lockKey) => RedisChannel.Literal((string)lockKey! + ":released");
}
