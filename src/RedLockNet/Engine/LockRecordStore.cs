using RedLockNet.Nodes;
using RedLockNet.Timing;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>
/// Small records kept next to a lock on every node: written only by the lock's current holder (each node checks
/// that the lock key there still holds the holder's id), confirmed by a majority, and read from a majority.
/// Keys share the lock's hash tag, so they live in the lock's slot.
/// </summary>
internal sealed class LockRecordStore : ILockRecords
{
    private readonly Redlock _redlock;

    public LockRecordStore(Redlock redlock) => _redlock = redlock;

    private NodeSet Nodes => _redlock.Nodes;

    /// <summary>Key of record <paramref name="name"/> next to the lock on <paramref name="resource"/>.</summary>
    public RedisKey KeyFor(string resource, string name) =>
        LockKeys.For(_redlock.Options.KeyPrefix, resource).Append(":rec:" + name);

    /// <inheritdoc />
    public Task<LockRecordWrite> WriteAsync(ILockHandle holder, string name, string value, LockRecordWriteOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(options);
        CheckName(name, nameof(name));
        ArgumentNullException.ThrowIfNull(value);
        CheckRetention(options.Retention, "options.Retention");
        CheckAttempts(options.MaxAttempts, "options.MaxAttempts");
        var lockKey = LockKeys.For(_redlock.Options.KeyPrefix, holder.Resource);
        var withFence = options.Fenced && holder.FencingToken > 0;
        RedisKey[] keys = withFence
            ? [lockKey, KeyFor(holder.Resource, name), LockKeys.FenceFor(lockKey)]
            : [lockKey, KeyFor(holder.Resource, name)];
        RedisValue[] args = withFence
            ? [holder.LockId, value, TimeUnits.ToRedisMilliseconds(options.Retention), options.WriteOnce ? "1" : "0", holder.FencingToken]
            : [holder.LockId, value, TimeUnits.ToRedisMilliseconds(options.Retention), options.WriteOnce ? "1" : "0"];
        return RetryWhileUnavailableAsync(options.MaxAttempts, ct => WriteAsync(LockScript.RecordPut, keys, args, value, ct), cancellationToken);
    }

    /// <inheritdoc />
    public Task<LockRecordWrite> ClaimAsync(ILockHandle holder, LockRecordClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(claim);
        CheckName(claim.Name, "claim.Name");
        CheckName(claim.HighWaterName, "claim.HighWaterName");
        ArgumentNullException.ThrowIfNull(claim.Value, "claim.Value");
        CheckRetention(claim.Retention, "claim.Retention");
        CheckRetention(claim.HighWaterRetention, "claim.HighWaterRetention");
        CheckAttempts(claim.MaxAttempts, "claim.MaxAttempts");
        var lockKey = LockKeys.For(_redlock.Options.KeyPrefix, holder.Resource);
        RedisKey[] keys = [lockKey, KeyFor(holder.Resource, claim.Name), KeyFor(holder.Resource, claim.HighWaterName)];
        RedisValue[] args = [holder.LockId, claim.Value, TimeUnits.ToRedisMilliseconds(claim.Retention), claim.Sequence, TimeUnits.ToRedisMilliseconds(claim.HighWaterRetention)];
        return RetryWhileUnavailableAsync(claim.MaxAttempts, ct => WriteAsync(LockScript.TickClaim, keys, args, claim.Value, ct), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<LockRecordRead> ReadAsync(string resource, string name, CancellationToken cancellationToken = default)
    {
        LockResources.Validate(resource);
        CheckName(name, nameof(name));
        RedisKey[] keys = [KeyFor(resource, name)];
        var replies = await FanOutAsync(LockScript.RecordGet, keys, [], cancellationToken).ConfigureAwait(false);
        var values = new List<string?>(replies.Length);
        List<NodeFailure>? failures = null;
        foreach (var reply in replies)
        {
            if (reply.Failure is { } failure)
            {
                (failures ??= []).Add(failure);
            }
            else
            {
                values.Add(reply.Result is { IsNull: false } r ? (string?)r : null);
            }
        }

        return new LockRecordRead(values, failures ?? (IReadOnlyList<NodeFailure>)[], values.Count >= Nodes.Majority);
    }

    /// <summary>Runs <paramref name="write"/> up to <paramref name="attempts"/> times while too few nodes answered, with short jittered pauses.</summary>
    private async Task<LockRecordWrite> RetryWhileUnavailableAsync(int attempts, Func<CancellationToken, Task<LockRecordWrite>> write, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var result = await write(cancellationToken).ConfigureAwait(false);
            if (result.Outcome != LockRecordWriteOutcome.Unavailable || attempt >= attempts)
            {
                return result;
            }

            var pause = Backoff.FullJitter(TimeSpan.FromMilliseconds(25), TimeSpan.FromMilliseconds(200), attempt);
            await Task.Delay(pause, _redlock.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static void CheckName(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (string.IsNullOrWhiteSpace(name) || name.Length > 512)
        {
            throw new ArgumentException("A record name must be 1 to 512 characters and not only white space.", paramName);
        }
    }

    private static void CheckRetention(TimeSpan retention, string paramName)
    {
        if (retention < TimeSpan.FromMilliseconds(1) || retention.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, retention, "A record's retention must be between 1 ms and about 24.8 days.");
        }
    }

    private static void CheckAttempts(int attempts, string paramName)
    {
        if (attempts is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(paramName, attempts, "MaxAttempts must be between 1 and 100.");
        }
    }

    private async Task<LockRecordWrite> WriteAsync(LockScript script, RedisKey[] keys, RedisValue[] args, string value, CancellationToken cancellationToken)
    {
        var replies = await FanOutAsync(script, keys, args, cancellationToken).ConfigureAwait(false);
        var written = 0;
        var notHolder = 0;
        string? other = null;
        List<NodeFailure>? failures = null;
        foreach (var reply in replies)
        {
            if (reply.Failure is { } failure)
            {
                (failures ??= []).Add(failure);
            }
            else if (reply.Result is { } r && r.Resp2Type == ResultType.Integer)
            {
                if ((long)r == 1)
                {
                    written++;
                }
                else
                {
                    notHolder++;
                }
            }
            else if (reply.Result is { IsNull: false } s)
            {
                var found = (string?)s;
                if (found != value)
                {
                    other ??= found;
                }
                else
                {
                    written++;
                }
            }
        }

        var majority = Nodes.Majority;
        var outcome = written >= majority ? LockRecordWriteOutcome.Written
            : other is not null ? LockRecordWriteOutcome.TakenByOther
            : notHolder > Nodes.Count - majority ? LockRecordWriteOutcome.NotHolder
            : LockRecordWriteOutcome.Unavailable;
        return new LockRecordWrite(outcome, other, written, failures ?? (IReadOnlyList<NodeFailure>)[]);
    }

    private async Task<NodeReply[]> FanOutAsync(LockScript script, RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
    {
        var count = Nodes.Count;
        var replies = new Task<NodeReply>[count];
        for (var i = 0; i < count; i++)
        {
            var node = Nodes.Nodes[i];
            replies[i] = NodeCall.ReplyAsync(i, node, NodeCall.Start(node, script, keys, args), _redlock.Options.NodeTimeout, _redlock.Time);
        }

        // every reply is bounded by the node timeout; cancellation only stops waiting for them
        return await Task.WhenAll(replies).WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
