using RedLockNet.Nodes;
using RedLockNet.Nodes.Scripts;
using RedLockNet.Timing;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>One lock to extend: its key, its id, and the new time to live.</summary>
internal readonly record struct ExtendItem(RedisKey Key, string LockId, TimeSpan Ttl);

/// <summary>What the nodes said about extending one lock.</summary>
internal enum ExtendOutcome
{
    /// <summary>A majority set the new time to live.</summary>
    Extended,

    /// <summary>Too many nodes no longer hold our id for a majority ever to: the lock is gone for good (extension never re-creates a key).</summary>
    Refused,

    /// <summary>Neither: too few answers. The nodes that did not answer may or may not have applied it.</summary>
    Uncertain,
}

/// <summary>The verdict for one item: outcome, and the votes it was decided on.</summary>
internal readonly record struct ExtendVerdict(ExtendOutcome Outcome, int Extended, int Refused, int Failed);

/// <summary>
/// Extension of a batch of locks: one script call per node carries the whole batch (extend.lua); each item gets its
/// own <see cref="Quorum"/> and verdict, and the round ends once every item is decided. Validity is measured from
/// <see cref="QuorumRound.StartedAt"/>, taken before the first send.
/// </summary>
internal sealed class ExtendRound : QuorumRound
{
    private readonly Quorum[] _items;
    private readonly bool[] _decided;
    private int _undecided;

    private ExtendRound(NodeSet nodes, int items)
        : base(nodes)
    {
        _items = new Quorum[items];
        _decided = new bool[items];
        _undecided = items;
        for (var i = 0; i < items; i++)
        {
            _items[i] = new Quorum(nodes.Count);
        }
    }

    /// <summary>Extends <paramref name="items"/> on every node; completes when each item is decided or the timeout passed.</summary>
    public static async Task<ExtendRound> RunAsync(NodeSet nodes, IReadOnlyList<ExtendItem> items, TimeSpan timeout, RoundTimeouts timeouts)
    {
        var entries = new ExtendEntry[items.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i] = new ExtendEntry(items[i].Key, items[i].LockId, TimeUnits.ToRedisMilliseconds(items[i].Ttl));
        }

        var round = new ExtendRound(nodes, items.Count);
        round.Send(new ExtendCall(entries).ToCall(), timeout, timeouts);
        await round.Completion.ConfigureAwait(false);
        return round;
    }

    /// <summary>The verdict for item <paramref name="index"/> (final once the round completed).</summary>
    public ExtendVerdict VerdictOf(int index)
    {
        lock (Gate)
        {
            var quorum = _items[index];
            var outcome = quorum.IsWon ? ExtendOutcome.Extended
                : quorum.IsRefused ? ExtendOutcome.Refused
                : ExtendOutcome.Uncertain;
            return new ExtendVerdict(outcome, quorum.Granted, quorum.Denied, quorum.Failed);
        }
    }

    protected override bool Count(int node, RedisResult? result, NodeFailure? failure)
    {
        var answers = failure is null ? ExtendCall.ReadReply(result, _items.Length) : null;
        for (var i = 0; i < _items.Length; i++)
        {
            if (_decided[i])
            {
                continue;
            }

            ref var item = ref _items[i];
            item.Add(answers is null ? Vote.Failed : answers[i] ? Vote.Yes : Vote.No);
            if (item.IsWon || item.IsRefused || item.Pending == 0)
            {
                _decided[i] = true;
                _undecided--;
            }
        }

        return _undecided == 0;
    }
}
