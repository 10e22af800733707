using RedLockNet.Nodes;
using RedLockNet.Nodes.Scripts;
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
    private readonly EngineContext _engine;

    public LockRecordStore(EngineContext engine) => _engine = engine;

    private NodeSet Nodes => _engine.Nodes;

    /// <summary>Key of record <paramref name="name"/> next to the lock on <paramref name="resource"/>.</summary>
    public RedisKey KeyFor(string resource, string name) =>
        LockKeys.For(_engine.Options.KeyPrefix, resource).Append(":rec:" + name);

    /// <inheritdoc />
    public Task<LockRecordWrite> WriteAsync(ILockHandle holder, string name, string value, LockRecordWriteOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(options);
        LockRecordRules.CheckName(name, nameof(name));
        ArgumentNullException.ThrowIfNull(value);
        options.Validate();
        var lockKey = LockKeys.For(_engine.Options.KeyPrefix, holder.Resource);
        var token = options.Fenced ? holder.FencingToken : null;
        var call = new RecordPutCall(
            lockKey, KeyFor(holder.Resource, name), holder.LockId, value, TimeUnits.ToRedisMilliseconds(options.Retention), options.WriteOnce,
            token is not null ? (RedisKey?)LockKeys.FenceFor(lockKey) : null, token ?? 0).ToCall();
        return RetryWhileUnavailableAsync(options.MaxAttempts, call, value, cancellationToken);
    }

    /// <inheritdoc />
    public Task<LockRecordWrite> ClaimAsync(ILockHandle holder, LockRecordClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(claim);
        claim.Validate();
        var lockKey = LockKeys.For(_engine.Options.KeyPrefix, holder.Resource);
        var call = new ClaimCall(
            lockKey, KeyFor(holder.Resource, claim.Name), KeyFor(holder.Resource, claim.HighWaterName), holder.LockId, claim.Value,
            TimeUnits.ToRedisMilliseconds(claim.Retention), claim.Sequence, TimeUnits.ToRedisMilliseconds(claim.HighWaterRetention)).ToCall();
        if (claim.NotBefore is { } notBefore)
        {
            // a node that lost its data before anyone could claim this slot cannot have forgotten the claim
            var since = _engine.Time.GetUtcNow() - notBefore;
            call = call with { Recalls = since < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : since < claim.Retention ? since : claim.Retention };
        }

        return RetryWhileUnavailableAsync(claim.MaxAttempts, call, claim.Value, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<LockRecordRead> ReadAsync(string resource, string name, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        LockResources.Validate(resource);
        LockRecordRules.CheckName(name, nameof(name));
        LockRecordRules.CheckRetention(retention, nameof(retention));
        var round = VoteRound.Start(Nodes, new RecordGetCall(KeyFor(resource, name), retention).ToCall(), RecordGetCall.IsReadable, RoundEnd.WhenAllAnswered, _engine.Options.NodeTimeout, _engine.Timeouts);

        // every node is bounded by the node timeout; cancellation only stops waiting for them
        await round.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        var values = new List<string?>(Nodes.Count);
        for (var i = 0; i < Nodes.Count; i++)
        {
            if (round.VoteOf(i) == Vote.Yes)
            {
                values.Add(round.ResultOf(i) is { IsNull: false } r ? (string?)r : null);
            }
        }

        return new LockRecordRead(values, round.Failures, round.Quorum.IsWon);
    }

    /// <summary>Writes up to <paramref name="attempts"/> times while too few nodes answered, with short jittered pauses.</summary>
    private async Task<LockRecordWrite> RetryWhileUnavailableAsync(int attempts, ScriptCall call, string value, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var result = await WriteOnceAsync(call, value, cancellationToken).ConfigureAwait(false);
            if (result.Outcome != LockRecordWriteOutcome.Unavailable || attempt >= attempts)
            {
                return result;
            }

            var pause = Backoff.FullJitter(TimeSpan.FromMilliseconds(25), TimeSpan.FromMilliseconds(200), attempt);
            await Task.Delay(pause, _engine.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One round of a record write: yes where the node holds our value, no where it is not the holder or keeps another
    /// value. Written with a majority of yes; taken by another when another value was found; not the holder when the
    /// refusals alone rule out a majority; else unavailable.
    /// </summary>
    private async Task<LockRecordWrite> WriteOnceAsync(ScriptCall call, string value, CancellationToken cancellationToken)
    {
        var round = VoteRound.Start(Nodes, call, result => HoldsValue(result, value), RoundEnd.WhenAllAnswered, _engine.Options.NodeTimeout, _engine.Timeouts);
        await round.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        string? other = null;
        for (var i = 0; i < Nodes.Count && other is null; i++)
        {
            if (round.VoteOf(i) == Vote.No && round.ResultOf(i) is { } result)
            {
                other = RecordReply.Read(result).Found;
            }
        }

        var quorum = round.Quorum;
        var outcome = quorum.IsWon ? LockRecordWriteOutcome.Written
            : other is not null ? LockRecordWriteOutcome.TakenByOther
            : quorum.IsRefused ? LockRecordWriteOutcome.NotHolder
            : LockRecordWriteOutcome.Unavailable;
        return new LockRecordWrite(outcome, other, quorum.Granted, round.Failures);
    }

    /// <summary>Whether a node's reply says it holds <paramref name="value"/> now (written, or already there).</summary>
    private static bool HoldsValue(RedisResult result, string value)
    {
        var (code, found) = RecordReply.Read(result);
        return code == RecordReply.Written || found == value;
    }
}
