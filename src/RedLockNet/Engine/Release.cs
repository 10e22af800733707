using Microsoft.Extensions.Logging;
using RedLockNet.Diagnostics;
using RedLockNet.Nodes;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>Compare-and-delete on every node, for a released lock and for an attempt that did not win.</summary>
internal static class Release
{
    private static readonly Func<RedisResult, bool> Answered = static _ => true;

    /// <summary>
    /// Deletes the lock on every node (each answer, deleted or not, confirms the key is not ours there any more);
    /// waits for every node at most the node timeout. Nodes marked yes in <paramref name="preset"/> are not asked.
    /// </summary>
    public static async Task<(int Confirmed, bool ByMajority, IReadOnlyList<NodeFailure> Failures)> ReleaseAsync(
        EngineContext engine, RedisKey key, string lockId, Vote[]? preset = null)
    {
        var round = VoteRound.Start(engine.Nodes, new ReleaseCall(key, lockId).ToCall(), Answered, RoundEnd.WhenAllAnswered, engine.Options.NodeTimeout, engine.Time, preset);
        await round.Completion.ConfigureAwait(false);
        var quorum = round.Quorum;
        return (quorum.Granted, quorum.IsWon, round.Failures);
    }

    /// <summary>
    /// Gives up an attempt: sends a release to every node that did not refuse it, and again to any node whose
    /// acquire call was still in flight and turns out to have granted. The caller does not wait for the releases:
    /// each is queued behind the acquire on the same connection, so it runs after it whenever that does.
    /// </summary>
    public static void Abandon(EngineContext engine, RedisKey key, string lockId, VoteRound acquire)
    {
        ReleaseLateGrants(engine, key, lockId, acquire.Calls);
        var preset = new Vote[engine.Nodes.Count];
        for (var i = 0; i < preset.Length; i++)
        {
            // a node that refused holds another owner's key: nothing of ours to release there
            preset[i] = acquire.VoteOf(i) == Vote.No ? Vote.Yes : Vote.Ask;
        }

        NodeCalls.Observe(ReleaseAsync(engine, key, lockId, preset));
    }

    /// <summary>
    /// For acquire calls still in flight: release on that node if the call turns out to have granted. Needed even
    /// though a release is queued behind the acquire: a first use of a script on a node goes EVALSHA, NOSCRIPT, then
    /// EVAL, and that retry can land after a release sent later.
    /// </summary>
    public static void ReleaseLateGrants(EngineContext engine, RedisKey key, string lockId, IReadOnlyList<Task<RedisResult>?> calls)
    {
        for (var i = 0; i < calls.Count; i++)
        {
            if (calls[i] is { IsCompleted: false } call)
            {
                var late = new LateGrant(engine, engine.Nodes[i], key, lockId);
                _ = call.ContinueWith(
                    static (call, state) => ((LateGrant)state!).OnAnswer(call),
                    late,
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }

    private sealed class LateGrant(EngineContext engine, ILockNode node, RedisKey key, string lockId)
    {
        public void OnAnswer(Task<RedisResult> call)
        {
            if (!call.IsCompletedSuccessfully || !GrantReply.Read(call.Result).Granted)
            {
                NodeCalls.Observe(call);
                return;
            }

            if (engine.Logger.IsEnabled(LogLevel.Debug))
            {
                Log.LateGrantReleased(engine.Logger, node.Name, LockIds.Prefix(lockId));
            }

            NodeCalls.Observe(NodeCalls.Start(node, new ReleaseCall(key, lockId).ToCall()));
        }
    }
}
