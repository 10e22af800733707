using RedLockNet.Timing;
using Microsoft.Extensions.Logging;
using RedLockNet.Diagnostics;
using RedLockNet.Nodes;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>
/// The Redlock protocol over one node set: one quorum attempt at a lock, and compare-and-delete release.
/// Holds no per-lock state; handles do.
/// </summary>
internal sealed class Redlock
{
    private readonly RedLockOptions _options;
    private readonly ILogger _logger;

    public Redlock(NodeSet nodes, RedLockOptions options, ILogger logger)
    {
        Nodes = nodes;
        _options = options;
        _logger = logger;
        Time = options.TimeProvider;
    }

    public NodeSet Nodes { get; }

    public TimeProvider Time { get; }

    public ILogger Logger => _logger;

    public RedLockOptions Options => _options;

    /// <summary>
    /// Sends the acquire script to every node at once and decides as soon as the votes allow.
    /// On anything but success the lock is released everywhere, including on nodes whose answer is still in flight.
    /// Only <paramref name="cancellationToken"/> interrupts it (after cleaning up); node faults become votes against.
    /// </summary>
    public async Task<AcquireAttempt> AcquireOnceAsync(string resource, RedisKey key, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var validity = LockTiming.For(ttl, _options);
        var lockId = LockIds.New();
        var fencing = _options.Fencing;
        var fenceKey = LockKeys.FenceFor(key);
        RedisKey[] keys = fencing ? [key, fenceKey] : [key];
        RedisValue[] args = fencing ? Fencing.AcquireArgs(lockId, ttl, _options) : [lockId, TimeUnits.ToRedisMilliseconds(ttl)];
        var script = fencing ? LockScript.AcquireFenced : LockScript.Acquire;
        var timeout = validity.AcquireBudget < _options.NodeTimeout ? validity.AcquireBudget : _options.NodeTimeout;
        var count = Nodes.Count;
        var calls = new Task<RedisResult>[count];
        var replies = new Task<NodeReply>[count];

        var start = Time.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var node = Nodes.Nodes[i];
            calls[i] = NodeCall.Start(node, script, keys, args);
            replies[i] = NodeCall.ReplyAsync(i, node, calls[i], timeout, Time);
        }

        var quorum = new Quorum(count);
        var refused = new bool[count]; // nodes that hold another owner's key: nothing of ours to release there
        var fences = new long?[count];  // each granting node's counter
        List<NodeFailure>? failures = null;
        try
        {
            await foreach (var done in Task.WhenEach(replies).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var reply = await done.ConfigureAwait(false);
                if (reply.Failure is { } failure)
                {
                    (failures ??= []).Add(failure);
                    quorum.Fail();
                }
                else if (Fencing.ReadGrant(reply.Result) is { Granted: true } grantReply)
                {
                    fences[reply.NodeIndex] = grantReply.Fence;
                    quorum.Grant();
                }
                else
                {
                    refused[reply.NodeIndex] = true;
                    quorum.Deny();
                }

                if (quorum.IsDecided)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Abandon(key, lockId, calls, refused);
            throw;
        }

        var outcome = quorum.Outcome ?? throw new InvalidOperationException("The vote ended undecided.");
        string? detail = null;
        long token = 0;
        if (outcome == AcquireOutcome.Acquired && fencing)
        {
            var (settled, raised) = await Fencing.SettleAsync(Nodes, fences, key, fenceKey, lockId, _options, timeout, Time).ConfigureAwait(false);
            RedLockTelemetry.RecordFencing(raised);
            if (settled is { } value)
            {
                token = value;
            }
            else
            {
                outcome = AcquireOutcome.QuorumUnavailable;
                detail = "the fencing token could not be confirmed on a majority";
            }
        }

        // measured after every round: a token is only handed out while the lock is still valid
        var decidedAt = Time.GetTimestamp();
        var elapsed = Time.GetElapsedTime(start, decidedAt);
        if (outcome == AcquireOutcome.Acquired)
        {
            if (validity.IsEnoughAfter(elapsed))
            {
                // validity runs from before the first send, less the drift allowance
                var validUntil = start + Time.ToTimestampTicks(ttl - validity.Drift);
                var grant = new LockGrant(resource, key, lockId, ttl, start, validUntil, token, decidedAt) { Calls = calls };
                RedLockTelemetry.RecordAttempt(AcquireOutcome.Acquired);
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    Log.Acquired(_logger, resource, LockIds.Prefix(lockId), elapsed.TotalMilliseconds, validity.ValidityAfter(elapsed).TotalMilliseconds);
                }

                return new AcquireAttempt(AcquireOutcome.Acquired, elapsed, (IReadOnlyList<NodeFailure>?)failures ?? [], null, grant);
            }

            outcome = AcquireOutcome.QuorumUnavailable;
            detail = $"the majority answered after {NodeConnector.Describe(elapsed)}, leaving {NodeConnector.Describe(validity.ValidityAfter(elapsed))} of validity, less than the minimum {NodeConnector.Describe(validity.MinValidity)}";
        }

        Abandon(key, lockId, calls, refused);
        RedLockTelemetry.RecordAttempt(outcome);
        Log.AttemptFailed(_logger, resource, outcome, elapsed.TotalMilliseconds, quorum.Granted, quorum.Denied, quorum.Failed);
        return new AcquireAttempt(outcome, elapsed, (IReadOnlyList<NodeFailure>?)failures ?? [], detail, null);
    }

    /// <summary>Compare-and-delete on every node (except those marked in <paramref name="skip"/>); waits for each at most the node timeout.</summary>
    public async Task<(int Confirmed, IReadOnlyList<NodeFailure> Failures)> ReleaseAsync(RedisKey key, string lockId, bool[]? skip = null)
    {
        RedisKey[] keys = [key];
        RedisValue[] args = [lockId];
        var replies = new List<Task<NodeReply>>(Nodes.Count);
        for (var i = 0; i < Nodes.Count; i++)
        {
            if (skip is null || !skip[i])
            {
                var node = Nodes.Nodes[i];
                replies.Add(NodeCall.ReplyAsync(i, node, NodeCall.Start(node, LockScript.Release, keys, args), _options.NodeTimeout, Time));
            }
        }

        if (replies.Count == 0)
        {
            return (Nodes.Count, []);
        }

        var all = await Task.WhenAll(replies).ConfigureAwait(false);
        var failures = all.Where(r => r.Failure is not null).Select(r => r.Failure!).ToArray();
        return (Nodes.Count - failures.Length, failures);
    }

    /// <summary>
    /// Gives up an attempt: sends a release to every node that did not refuse it, and again to any node whose
    /// acquire call was still in flight and turns out to have granted. The caller does not wait for the releases:
    /// each is queued behind the acquire on the same connection, so it runs after it whenever that does.
    /// </summary>
    private void Abandon(RedisKey key, string lockId, Task<RedisResult>[] calls, bool[] refused)
    {
        ReleaseLateGrants(key, lockId, calls);
        NodeCall.Observe(ReleaseAsync(key, lockId, refused));
    }

    /// <summary>
    /// For acquire calls still in flight: release on that node if the call turns out to have granted. Needed even
    /// though a release is queued behind the acquire: a first use of a script on a node goes EVALSHA, NOSCRIPT, then
    /// EVAL, and that retry can land after a release sent later.
    /// </summary>
    public void ReleaseLateGrants(RedisKey key, string lockId, IReadOnlyList<Task<RedisResult>> calls)
    {
        for (var i = 0; i < calls.Count; i++)
        {
            if (!calls[i].IsCompleted)
            {
                var node = Nodes.Nodes[i];
                _ = calls[i].ContinueWith(
                    call => ReleaseLateGrant(call, node, key, lockId),
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }

    private void ReleaseLateGrant(Task<RedisResult> call, ILockNode node, RedisKey key, string lockId)
    {
        if (!call.IsCompletedSuccessfully || !Fencing.ReadGrant(call.Result).Granted)
        {
            NodeCall.Observe(call);
            return;
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.LateGrantReleased(_logger, node.Name, LockIds.Prefix(lockId));
        }

        NodeCall.Observe(NodeCall.Start(node, LockScript.Release, [key], [lockId]));
    }
}
