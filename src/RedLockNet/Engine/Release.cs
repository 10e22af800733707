using Microsoft.Extensions.Logging;
using RedLockNet.Diagnostics;
using RedLockNet.Nodes;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>
/// Compare-and-delete on every node, for a released lock and for an attempt that did not win; where someone waits in
/// the resource's waiting room, the node reserves the lock for the first waiter instead (<see cref="WaitingRooms"/>).
/// </summary>
internal static class Release
{
    /// <summary>
    /// Deletes the lock on every node (each answer, deleted or not, confirms the key is not ours there any more).
    /// Returns once a majority confirmed (or can no longer); the other nodes are waited for in the background, at most
    /// the node timeout, and <paramref name="drained"/> sees the final count. Nodes marked yes in
    /// <paramref name="preset"/> are not asked. Acquire calls still in flight (<paramref name="acquireCalls"/>) are
    /// watched: see <see cref="GuardLateGrants"/>. A <paramref name="room"/> given replaces the key's own.
    /// </summary>
    public static async Task<(bool ByMajority, VoteRound Round)> ReleaseAsync(
        EngineContext engine, RedisKey key, string lockId, IReadOnlyList<Task<RedisResult>?> acquireCalls, Vote[]? preset = null,
        Action<VoteRound, object?>? drained = null, object? state = null, WaitingRoom? room = null)
    {
        var round = VoteRound.Start(
            engine.Nodes, new ReleaseCall(key, lockId, room ?? engine.Rooms.For(key)).ToCall(), VoteRound.AnyAnswer, RoundEnd.WhenDecidedThenDrain, engine.Options.NodeTimeout, engine.Timeouts, preset, drained, state);
        GuardLateGrants(engine, key, lockId, acquireCalls, round);
        await round.Completion.ConfigureAwait(false);
        return (round.Quorum.IsWon, round);
    }

    /// <summary>
    /// Gives up an attempt: sends a release to every node that did not refuse it, without waiting. A node whose
    /// acquire call is still in flight gets the release queued behind it on the same connection.
    /// </summary>
    public static void Abandon(EngineContext engine, RedisKey key, string lockId, VoteRound acquire)
    {
        var preset = new Vote[engine.Nodes.Count];
        for (var i = 0; i < preset.Length; i++)
        {
            // a node that refused holds another owner's key: nothing of ours to release there
            preset[i] = acquire.VoteOf(i) == Vote.No ? Vote.Yes : Vote.Ask;
        }

        NodeCalls.Observe(ReleaseAsync(engine, key, lockId, acquire.Calls, preset));
    }

    /// <summary>
    /// Watches acquire calls that were still in flight when the release was sent. On one connection Redis answers in
    /// the order it ran the commands, so a grant whose answer arrives before the release's ran first and the release
    /// removed it. A grant whose answer arrives after the release's answer ran after the release (an acquire that
    /// waited for a restart check, or a script's EVALSHA, NOSCRIPT, EVAL retry): that key would block everyone until
    /// its ttl, so it is released again, on that node only.
    /// </summary>
    private static void GuardLateGrants(EngineContext engine, RedisKey key, string lockId, IReadOnlyList<Task<RedisResult>?> acquireCalls, VoteRound release)
    {
        for (var i = 0; i < acquireCalls.Count; i++)
        {
            if (acquireCalls[i] is { IsCompleted: false } call)
            {
                var late = new LateGrant(engine, engine.Nodes[i], key, lockId, release.Calls[i]);
                _ = call.ContinueWith(
                    static (call, state) => ((LateGrant)state!).OnAnswer(call),
                    late,
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }

    private sealed class LateGrant(EngineContext engine, ILockNode node, RedisKey key, string lockId, Task<RedisResult>? release)
    {
        public void OnAnswer(Task<RedisResult> call)
        {
            if (!call.IsCompletedSuccessfully || !GrantReply.Read(call.Result).Granted)
            {
                NodeCalls.Observe(call);
                return;
            }

            if (release is { IsCompleted: false })
            {
                return; // answered before the release: it ran first, and the release removes it
            }

            if (engine.Logger.IsEnabled(LogLevel.Debug))
            {
                Log.LateGrantReleased(engine.Logger, node.Name, LockIds.Prefix(lockId));
            }

            NodeCalls.Observe(NodeCalls.Start(node, new ReleaseCall(key, lockId, engine.Rooms.For(key)).ToCall()));
        }
    }
}
