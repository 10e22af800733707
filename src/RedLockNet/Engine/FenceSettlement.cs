using RedLockNet.Diagnostics;
using RedLockNet.Nodes.Scripts;
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
internal static class FenceSettlement
{
    private static readonly Func<RedisResult, bool> IsRaised = IntegerReply.IsOne;

    /// <summary>The floor every new counter value must reach: the client's wall clock in microseconds.</summary>
    public static long Floor(TimeProvider time) => time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;

    /// <summary>
    /// Mints a token for a holder after acquisition: every node bumps its counter only where the holder's lock key
    /// still stands, and the token is settled over the majority that did. No token, with Refused set, when too many
    /// nodes no longer hold the lock; no token otherwise when too few answered.
    /// </summary>
    public static async Task<(long? Token, bool Refused, IReadOnlyList<NodeFailure> Failures)> MintAsync(EngineContext engine, RedisKey key, string lockId, CancellationToken cancellationToken)
    {
        var fenceKey = LockKeys.FenceFor(key);
        var options = engine.Options;
        var mint = new FenceMintCall(key, fenceKey, lockId, TimeUnits.ToRedisMilliseconds(options.FenceRetention), Floor(engine.Time)).ToCall();
        var round = VoteRound.Start(engine.Nodes, mint, VoteRound.Granted, RoundEnd.WhenDecided, options.NodeTimeout, engine.Timeouts);
        await round.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        var quorum = round.Quorum;
        if (!quorum.IsWon)
        {
            return (null, quorum.IsRefused, round.Failures);
        }

        return (await SettleAsync(engine, round, key, fenceKey, lockId, options.NodeTimeout).ConfigureAwait(false), false, round.Failures);
    }

    /// <summary>
    /// Settles the token over the nodes that granted (or minted) in <paramref name="acquire"/>: the largest counter, raised on the
    /// laggards when they disagree. Returns null when fewer than a majority end up holding it. For a round that granted
    /// several resources together, <paramref name="resourceIndex"/> says whose counter.
    /// </summary>
    public static async Task<long?> SettleAsync(EngineContext engine, VoteRound acquire, RedisKey key, RedisKey fenceKey, string lockId, TimeSpan timeout, int resourceIndex = 0)
    {
        var count = engine.Nodes.Count;
        var fences = new long?[count];
        long token = 0;
        for (var i = 0; i < count; i++)
        {
            if (acquire.VoteOf(i) == Vote.Yes && acquire.ResultOf(i) is var reply && GrantReply.Read(reply).Granted)
            {
                var fence = GrantReply.FenceOf(reply, resourceIndex);
                fences[i] = fence;
                token = Math.Max(token, fence);
            }
        }

        // nodes already at the token count as yes; laggards are asked; the rest (refused, failed, late) count as no
        var preset = new Vote[count];
        var agreeing = 0;
        for (var i = 0; i < count; i++)
        {
            preset[i] = fences[i] == token ? Vote.Yes : fences[i] is not null ? Vote.Ask : Vote.No;
            agreeing += preset[i] == Vote.Yes ? 1 : 0;
        }

        // the round was won (a majority granted): with no laggard every granting node agrees, so this also covers that case
        if (agreeing >= Quorum.MajorityOf(count) || engine.Options.SkipFenceSettlementForTests)
        {
            RedLockTelemetry.RecordFencing(raised: false);
            return token;
        }

        var raise = new FenceRaiseCall(key, fenceKey, lockId, token, TimeUnits.ToRedisMilliseconds(engine.Options.FenceRetention)).ToCall();
        var round = VoteRound.Start(engine.Nodes, raise, IsRaised, RoundEnd.WhenDecided, timeout, engine.Timeouts, preset);
        await round.Completion.ConfigureAwait(false);
        RedLockTelemetry.RecordFencing(raised: true);
        return round.Quorum.IsWon ? token : null;
    }
}
