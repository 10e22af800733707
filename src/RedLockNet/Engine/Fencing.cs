using RedLockNet.Timing;
using RedLockNet.Nodes;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>
/// Fencing tokens from the quorum. Each granting node bumps its counter for the resource to
/// <c>max(counter + 1, floor)</c> (floor: the client's clock in microseconds) and returns it. The token is the
/// largest value among the granting majority; before it is handed out, a majority must hold a counter at least
/// that large. When the granting nodes agree (the common case) that is already so; otherwise a second round
/// raises the laggards, only where our lock key still stands. A later holder's majority meets ours in at least one
/// node, which it can only be granted after our key there is gone, so its bump there exceeds our token.
/// </summary>
internal static class Fencing
{
    /// <summary>Acquire arguments for the fenced script: id, ttl, counter retention, floor.</summary>
    public static RedisValue[] AcquireArgs(string lockId, TimeSpan ttl, RedLockOptions options) =>
    [
        lockId,
        TimeUnits.ToRedisMilliseconds(ttl),
        TimeUnits.ToRedisMilliseconds(options.FenceRetention),
        options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds() * 1000,
    ];

    /// <summary>Reads a reply of either acquire script: granted, and the node's counter (0 without fencing).</summary>
    public static (bool Granted, long Fence) ReadGrant(RedisResult? result)
    {
        if (result is null || result.IsNull)
        {
            return (false, 0);
        }

        if (result.Resp2Type == ResultType.Integer)
        {
            return ((long)result == 1, 0);
        }

        if (result.Resp2Type == ResultType.Array)
        {
            var parts = (RedisResult[])result!;
            if (parts.Length == 2 && parts[0].Resp2Type == ResultType.Integer && (long)parts[0] == 1)
            {
                return (true, (long)parts[1]);
            }
        }

        return (false, 0);
    }

    /// <summary>
    /// Settles the token over the granting nodes (<paramref name="fences"/>, null where a node did not grant):
    /// the largest value, raised on the laggards when they disagree. Returns null when fewer than a majority end
    /// up holding it.
    /// </summary>
    public static async Task<(long? Token, bool Raised)> SettleAsync(
        NodeSet nodes, long?[] fences, RedisKey key, RedisKey fenceKey, string lockId, RedLockOptions options, TimeSpan timeout, TimeProvider time)
    {
        long token = 0;
        foreach (var fence in fences)
        {
            if (fence is { } value && value > token)
            {
                token = value;
            }
        }

        var agreeing = fences.Count(f => f == token);
        if (agreeing >= nodes.Majority)
        {
            return (token, false);
        }

        RedisKey[] keys = [key, fenceKey];
        RedisValue[] args = [lockId, token, TimeUnits.ToRedisMilliseconds(options.FenceRetention)];
        var raises = new List<Task<NodeReply>>();
        for (var i = 0; i < fences.Length; i++)
        {
            if (fences[i] is { } value && value < token)
            {
                var node = nodes.Nodes[i];
                raises.Add(NodeCall.ReplyAsync(i, node, NodeCall.Start(node, LockScript.FenceRaise, keys, args), timeout, time));
            }
        }

        var raised = (await Task.WhenAll(raises).ConfigureAwait(false)).Count(r => r.IsOne);
        return (agreeing + raised >= nodes.Majority ? token : null, true);
    }
}
