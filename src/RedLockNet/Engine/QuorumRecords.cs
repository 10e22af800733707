using RedLockNet.Engine.Leases;
using RedLockNet.Timing;
using RedLockNet.Engine;
using RedLockNet.Nodes;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>How a write of a record next to a lock went on the node set.</summary>
internal enum RecordWriteOutcome
{
    /// <summary>A majority of nodes hold our value.</summary>
    Written,

    /// <summary>Another holder's value was already there (write-once records), and we have no majority.</summary>
    TakenByOther,

    /// <summary>Too many nodes no longer hold our lock for a majority to be possible.</summary>
    NotHolder,

    /// <summary>Too many nodes failed to answer.</summary>
    Unavailable,
}

/// <summary>The result of one record write: the outcome, the value found when taken, and the node failures.</summary>
internal sealed record RecordWrite(RecordWriteOutcome Outcome, string? OtherValue, int Written, IReadOnlyList<NodeFailure> Failures)
{
    /// <summary>The failed nodes and why, for logs and error messages.</summary>
    public string DescribeFailures() => string.Join("; ", Failures.Select(f => f.ToString()));
}

/// <summary>The answers of one record read: each answering node's value (null when absent) and the nodes that failed.</summary>
internal sealed record RecordRead(IReadOnlyList<string?> Values, IReadOnlyList<NodeFailure> Failures)
{
    /// <summary>Whether a majority of nodes answered, so any record written to a majority was seen.</summary>
    public bool FromMajority(int nodeCount) => Values.Count >= (nodeCount / 2) + 1;
}

/// <summary>
/// Small records kept next to a lock on every node: written only by the lock's current holder (each node checks
/// that the lock key there still holds the holder's id), confirmed by a majority, and read from a majority.
/// Keys share the lock's hash tag, so they live in the lock's slot.
/// </summary>
internal sealed class QuorumRecords
{
    private readonly Redlock _redlock;

    public QuorumRecords(Redlock redlock) => _redlock = redlock;

    private NodeSet Nodes => _redlock.Nodes;

    /// <summary>Key of record <paramref name="name"/> next to the lock on <paramref name="resource"/>.</summary>
    public RedisKey KeyFor(string resource, string name) =>
        LockKeys.For(_redlock.Options.KeyPrefix, resource).Append(":rec:" + name);

    /// <summary>Writes <paramref name="value"/> under the record <paramref name="name"/> while <paramref name="handle"/> holds its lock.</summary>
    /// <remarks>
    /// With <paramref name="fenced"/>, each node also refuses the write once its fencing counter has passed the
    /// handle's token (a later holder got the lock there), besides checking the lock key.
    /// </remarks>
    public Task<RecordWrite> PutAsync(ILockHandle handle, string name, string value, TimeSpan retention, bool writeOnce, CancellationToken cancellationToken, bool fenced = false)
    {
        var lease = LeaseOf(handle);
        var withFence = fenced && _redlock.Options.Fencing && handle.FencingToken > 0;
        RedisKey[] keys = withFence
            ? [lease.Key, KeyFor(handle.Resource, name), LockKeys.FenceFor(lease.Key)]
            : [lease.Key, KeyFor(handle.Resource, name)];
        RedisValue[] args = withFence
            ? [lease.LockId, value, TimeUnits.ToRedisMilliseconds(retention), writeOnce ? "1" : "0", handle.FencingToken]
            : [lease.LockId, value, TimeUnits.ToRedisMilliseconds(retention), writeOnce ? "1" : "0"];
        return WriteAsync(LockScript.RecordPut, keys, args, value, cancellationToken);
    }

    /// <summary>
    /// Claims the tick <paramref name="tickMs"/> of <paramref name="job"/> for <paramref name="handle"/>'s holder:
    /// written once per tick, so two holders can never both claim one tick on a majority. A successful claim on a node
    /// also raises the job's highest claimed tick there (<see cref="ReadLastTickAsync"/>).
    /// </summary>
    public Task<RecordWrite> ClaimTickAsync(ILockHandle handle, string job, long tickMs, string value, TimeSpan markerRetention, TimeSpan lastRetention, CancellationToken cancellationToken)
    {
        var lease = LeaseOf(handle);
        RedisKey[] keys = [lease.Key, KeyFor(handle.Resource, $"tick:{job}:{tickMs}"), KeyFor(handle.Resource, $"last:{job}")];
        RedisValue[] args = [lease.LockId, value, TimeUnits.ToRedisMilliseconds(markerRetention), tickMs, TimeUnits.ToRedisMilliseconds(lastRetention)];
        return WriteAsync(LockScript.TickClaim, keys, args, value, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="write"/> up to three times while too few nodes answered (a dropped node is often back
    /// within a heartbeat), with short growing pauses; any other outcome is returned at once.
    /// </summary>
    public async Task<RecordWrite> RetryWhileUnavailableAsync(Func<CancellationToken, Task<RecordWrite>> write, CancellationToken cancellationToken)
    {
        const int attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var result = await write(cancellationToken).ConfigureAwait(false);
            if (result.Outcome != RecordWriteOutcome.Unavailable || attempt == attempts)
            {
                return result;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), _redlock.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The highest tick of <paramref name="job"/> claimed on any answering node; null when none answered with one.</summary>
    public async Task<(long? LastTick, bool FromMajority)> ReadLastTickAsync(string resource, string job, CancellationToken cancellationToken)
    {
        var read = await ReadAsync(resource, $"last:{job}", cancellationToken).ConfigureAwait(false);
        long? last = null;
        foreach (var value in read.Values)
        {
            if (long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var tick) && (last is null || tick > last))
            {
                last = tick;
            }
        }

        return (last, read.FromMajority(Nodes.Count));
    }

    /// <summary>Reads record <paramref name="name"/> from every node (bounded by the node timeout each).</summary>
    public async Task<RecordRead> ReadAsync(string resource, string name, CancellationToken cancellationToken)
    {
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

        return new RecordRead(values, failures ?? (IReadOnlyList<NodeFailure>)[]);
    }

    private async Task<RecordWrite> WriteAsync(LockScript script, RedisKey[] keys, RedisValue[] args, string value, CancellationToken cancellationToken)
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
        var outcome = written >= majority ? RecordWriteOutcome.Written
            : other is not null ? RecordWriteOutcome.TakenByOther
            : notHolder > Nodes.Count - majority ? RecordWriteOutcome.NotHolder
            : RecordWriteOutcome.Unavailable;
        return new RecordWrite(outcome, other, written, failures ?? (IReadOnlyList<NodeFailure>)[]);
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

    private static Leases.Lease LeaseOf(ILockHandle handle) =>
        handle is RedLockHandle ours
            ? ours.Lease
            : throw new ArgumentException("The handle must come from a RedLockFactory.", nameof(handle));
}
