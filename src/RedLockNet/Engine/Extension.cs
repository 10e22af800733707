using RedLockNet.Timing;
using RedLockNet.Nodes;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>One lock to extend: its key, its id, and the new time to live.</summary>
internal readonly record struct ExtendItem(RedisKey Key, string LockId, TimeSpan Ttl);

/// <summary>What the nodes said about extending one lock.</summary>
internal enum ExtendOutcome
{
    /// <summary>A majority set the new time to live.</summary>
    Extended,

    /// <summary>A majority no longer hold our id: the lock is gone for good (extension never re-creates a key).</summary>
    Refused,

    /// <summary>Neither: too few answers. The nodes that did not answer may or may not have applied it.</summary>
    Uncertain,
}

/// <summary>The verdict for one item: outcome, and the votes it was decided on.</summary>
internal readonly record struct ExtendVerdict(ExtendOutcome Outcome, int Extended, int Refused, int Failed);

/// <summary>
/// Extension over the node set: one script call per node carries a whole batch; each item gets its own
/// quorum verdict. Validity is measured from <see cref="Start"/>, taken before the first send.
/// </summary>
internal sealed class Extension
{
    private Extension(long start, ExtendVerdict[] verdicts, IReadOnlyList<NodeFailure> failures)
    {
        Start = start;
        Verdicts = verdicts;
        Failures = failures;
    }

    /// <summary>Monotonic timestamp taken before the first send.</summary>
    public long Start { get; }

    /// <summary>One verdict per item, in item order.</summary>
    public IReadOnlyList<ExtendVerdict> Verdicts { get; }

    /// <summary>Nodes that failed for the whole batch.</summary>
    public IReadOnlyList<NodeFailure> Failures { get; }

    public static async Task<Extension> RunAsync(NodeSet nodes, IReadOnlyList<ExtendItem> items, TimeSpan nodeTimeout, TimeProvider time)
    {
        var keys = new RedisKey[items.Count];
        var args = new RedisValue[items.Count * 2];
        for (var i = 0; i < items.Count; i++)
        {
            keys[i] = items[i].Key;
            args[2 * i] = items[i].LockId;
            args[(2 * i) + 1] = TimeUnits.ToRedisMilliseconds(items[i].Ttl);
        }

        var start = time.GetTimestamp();
        var replies = new Task<NodeReply>[nodes.Count];
        for (var n = 0; n < nodes.Count; n++)
        {
            var node = nodes.Nodes[n];
            replies[n] = NodeCall.ReplyAsync(n, node, NodeCall.Start(node, LockScript.Extend, keys, args), nodeTimeout, time);
        }

        var extended = new int[items.Count];
        var refused = new int[items.Count];
        var verdicts = new ExtendVerdict[items.Count];
        var decided = new bool[items.Count];
        var undecided = items.Count;
        var failed = 0;
        List<NodeFailure>? failures = null;
        await foreach (var done in Task.WhenEach(replies).ConfigureAwait(false))
        {
            var reply = await done.ConfigureAwait(false);
            var answers = reply.Failure is null ? Answers(reply.Result, items.Count) : null;
            if (answers is null)
            {
                failed++;
                (failures ??= []).Add(reply.Failure ?? new NodeFailure(nodes.Nodes[reply.NodeIndex].Name, NodeFailureKind.Error, "unexpected reply to extend"));
            }

            for (var i = 0; i < items.Count; i++)
            {
                if (decided[i])
                {
                    continue;
                }

                if (answers is not null)
                {
                    if (answers[i])
                    {
                        extended[i]++;
                    }
                    else
                    {
                        refused[i]++;
                    }
                }

                var outcome = extended[i] >= nodes.Majority ? ExtendOutcome.Extended
                    : refused[i] >= nodes.Majority ? ExtendOutcome.Refused
                    : extended[i] + refused[i] + failed == nodes.Count ? ExtendOutcome.Uncertain
                    : (ExtendOutcome?)null;
                if (outcome is { } verdict)
                {
                    decided[i] = true;
                    undecided--;
                    verdicts[i] = new ExtendVerdict(verdict, extended[i], refused[i], failed);
                }
            }

            if (undecided == 0)
            {
                break;
            }
        }

        return new Extension(start, verdicts, (IReadOnlyList<NodeFailure>?)failures ?? []);
    }

    /// <summary>Reads the script's array of 0/1; null when the reply has another shape.</summary>
    private static bool[]? Answers(RedisResult? result, int count)
    {
        if (result is null || result.Resp2Type != ResultType.Array)
        {
            return null;
        }

        var values = (RedisResult[])result!;
        if (values.Length != count)
        {
            return null;
        }

        var answers = new bool[count];
        for (var i = 0; i < count; i++)
        {
            answers[i] = values[i].Resp2Type == ResultType.Integer && (long)values[i] == 1;
        }

        return answers;
    }
}
