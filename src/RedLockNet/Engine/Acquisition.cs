using Microsoft.Extensions.Logging;
using RedLockNet.Diagnostics;
using RedLockNet.Nodes.Scripts;
using RedLockNet.Timing;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>One quorum attempt at a lock: the Redlock acquisition over one node set.</summary>
internal static class Acquisition
{
    /// <summary>
    /// Sends the acquire script to every node at once and decides as soon as the votes allow.
    /// On anything but success the lock is released everywhere, including on nodes whose answer is still in flight.
    /// Only <paramref name="cancellationToken"/> interrupts it (after cleaning up); node faults become votes against.
    /// With a <paramref name="ticket"/> the attempt goes through the resource's waiting room (<see cref="WaitingRooms"/>),
    /// and a token asked for is minted once the lock is held.
    /// </summary>
    public static async Task<AcquireAttempt> AcquireOnceAsync(EngineContext engine, string resource, RedisKey key, LockTiming timing, bool mintToken, CancellationToken cancellationToken, WaitingRooms.Ticket? ticket = null)
    {
        var options = engine.Options;
        var lockId = LockIds.New();
        var fencing = mintToken && options.Fencing;
        var ttlMs = TimeUnits.ToRedisMilliseconds(timing.Expiry);
        var call = ticket is not null ? new AcquireWaitingCall(key, lockId, ttlMs, ticket.Id, ticket.Order, engine.Rooms.For(key)).ToCall()
            : fencing ? new AcquireFencedCall(key, LockKeys.FenceFor(key), lockId, ttlMs, TimeUnits.ToRedisMilliseconds(options.FenceRetention), FenceSettlement.Floor(engine.Time)).ToCall()
            : new AcquireCall(key, lockId, ttlMs).ToCall();
        return await DecideAsync(engine, resource, key, lockId, call, timing, fencing, ticket, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One attempt with a grant script of the caller's (a reader's or a writer's grant of a reader-writer lock) whose
    /// yes is <see cref="VoteRound.Granted"/> and which leaves <paramref name="lockId"/> under <paramref name="key"/> where
    /// it grants: decided, cleaned up and timed like <see cref="AcquireOnceAsync"/>, without a token on acquisition. Its
    /// release wakes the waiters of <paramref name="wakeOnRelease"/>'s room, when given.
    /// </summary>
    public static async Task<AcquireAttempt> GrantOnceAsync(EngineContext engine, string resource, RedisKey key, string lockId, ScriptCall call, LockTiming timing, CancellationToken cancellationToken, RedisKey? wakeOnRelease = null)
    {
        var attempt = await DecideAsync(engine, resource, key, lockId, call, timing, fencing: false, ticket: null, cancellationToken).ConfigureAwait(false);
        return attempt.Grant is { } grant && wakeOnRelease is not null
            ? new AcquireAttempt(attempt.Outcome, attempt.Elapsed, attempt.Failures, attempt.Detail, grant with { WakeOnRelease = wakeOnRelease })
            : attempt;
    }

    /// <summary>
    /// One attempt at the locks on several resources whose keys share one hash slot (<see cref="LockKeys.ShareSlot"/>):
    /// one acquire_all.lua per node, granted all or nothing there, decided, cleaned up and timed like
    /// <see cref="AcquireOnceAsync"/>, with a token per resource when asked. On success <see cref="Together.Grants"/>
    /// holds a grant per resource (one lock id for all), in the order of <paramref name="together"/>.
    /// </summary>
    public static Task<AcquireAttempt> AcquireTogetherOnceAsync(EngineContext engine, Together together, LockTiming timing, bool mintToken, CancellationToken cancellationToken)
    {
        var options = engine.Options;
        var lockId = LockIds.New();
        var fencing = mintToken && options.Fencing;
        var call = new AcquireAllCall(together.Keys, together.FenceKeys, lockId, TimeUnits.ToRedisMilliseconds(timing.Expiry), TimeUnits.ToRedisMilliseconds(options.FenceRetention), fencing ? FenceSettlement.Floor(engine.Time) : AcquireAllCall.NoFencing).ToCall();
        return DecideAsync(engine, together.Resources[0], together.Keys[0], lockId, call, timing, fencing, ticket: null, cancellationToken, together);
    }

    /// <summary>Resources locked in one round (their keys in one hash slot), and the grants of the round that won them.</summary>
    internal sealed class Together(string[] resources, RedisKey[] keys)
    {
        public string[] Resources { get; } = resources;

        public RedisKey[] Keys { get; } = keys;

        /// <summary>Each resource's fencing counter key, in the order of <see cref="Keys"/>.</summary>
        public RedisKey[] FenceKeys { get; } = [.. keys.Select(LockKeys.FenceFor)];

        /// <summary>A grant per resource, set when an attempt acquired them.</summary>
        public LockGrant[]? Grants { get; set; }
    }

    private static async Task<AcquireAttempt> DecideAsync(EngineContext engine, string resource, RedisKey key, string lockId, ScriptCall call, LockTiming timing, bool fencing, WaitingRooms.Ticket? ticket, CancellationToken cancellationToken, Together? together = null)
    {
        var options = engine.Options;
        var time = engine.Time;
        var fenceKey = LockKeys.FenceFor(key);
        var timeout = timing.AcquireBudget < options.NodeTimeout ? timing.AcquireBudget : options.NodeTimeout;

        var round = VoteRound.Start(engine.Nodes, call, VoteRound.Granted, RoundEnd.WhenDecided, timeout, engine.Timeouts);
        try
        {
            await round.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Abandon(engine, key, lockId, round, together);
            throw;
        }

        var quorum = round.Quorum;
        RedLockTelemetry.TagVotes(System.Diagnostics.Activity.Current, "redlock.acquire", quorum.Granted, quorum.Denied, quorum.Failed);
        var outcome = quorum.Outcome ?? throw new InvalidOperationException("The vote ended undecided.");
        string? detail = null;
        long? token = null;
        long[]? tokens = null;
        if (outcome == AcquireOutcome.Acquired && fencing)
        {
            var settled = ticket is null
                ? await FenceSettlement.SettleAsync(engine, round, key, fenceKey, lockId, timeout).ConfigureAwait(false)
                : (await FenceSettlement.MintAsync(engine, key, lockId, CancellationToken.None).ConfigureAwait(false)).Token;
            if (together is not null && settled is not null)
            {
                tokens = await SettleTogetherAsync(engine, round, together, lockId, timeout, settled.Value).ConfigureAwait(false);
                settled = tokens is null ? null : settled;
            }

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
        var decidedAt = time.GetTimestamp();
        var elapsed = time.GetElapsedTime(round.StartedAt, decidedAt);
        var failures = round.Failures;
        var logger = engine.Logger;
        if (outcome == AcquireOutcome.Acquired)
        {
            if (timing.IsEnoughAfter(elapsed))
            {
                // validity runs from before the first send, less the drift allowance
                var validUntil = timing.DeadlineFrom(round.StartedAt, time);
                var grant = new LockGrant(resource, key, lockId, timing, round.StartedAt, validUntil, token, decidedAt) { Calls = round.Calls };
                if (together is not null)
                {
                    together.Grants = new LockGrant[together.Keys.Length];
                    for (var i = 0; i < together.Grants.Length; i++)
                    {
                        together.Grants[i] = grant with { Resource = together.Resources[i], Key = together.Keys[i], FencingToken = tokens?[i] };
                    }
                }

                RedLockTelemetry.RecordAttempt(AcquireOutcome.Acquired);
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    Log.Acquired(logger, resource, LockIds.Prefix(lockId), elapsed.TotalMilliseconds, timing.ValidityAfter(elapsed).TotalMilliseconds);
                }

                return new AcquireAttempt(AcquireOutcome.Acquired, elapsed, failures, null, grant);
            }

            outcome = AcquireOutcome.QuorumUnavailable;
            detail = $"the majority answered after {Durations.Describe(elapsed)}, leaving {Durations.Describe(timing.ValidityAfter(elapsed))} of validity, less than the minimum {Durations.Describe(timing.MinValidity)}";
        }

        Abandon(engine, key, lockId, round, together);
        RedLockTelemetry.RecordAttempt(outcome);
        Log.AttemptFailed(logger, resource, outcome, elapsed.TotalMilliseconds, quorum.Granted, quorum.Denied, quorum.Failed);
        if (quorum.Failed > 0)
        {
            ThrowIfInUseAsSemaphore(resource, failures);
        }

        return new AcquireAttempt(outcome, elapsed, failures, detail, null);
    }

    /// <summary>
    /// A node answered that the lock key marks the resource as a semaphore's: the caller uses one name as a lock and as
    /// a semaphore. Thrown after the attempt was abandoned, so nothing is left behind.
    /// </summary>
    private static void ThrowIfInUseAsSemaphore(string resource, IReadOnlyList<NodeFailure> failures)
    {
        foreach (var failure in failures)
        {
            if (GrantReply.IsInUseAsSemaphore(failure.Error))
            {
                throw new ArgumentException(
                    $"'{resource}' is in use as a semaphore on node {failure.Node}; a resource is either a lock or a semaphore (a semaphore's mark stays while it remembers its permit count: an hour, or ten expiries, after its last acquisition).",
                    nameof(resource));
            }
        }
    }

    /// <summary>The tokens of resources locked together: the first already settled, each other over the same round.</summary>
    private static async Task<long[]?> SettleTogetherAsync(EngineContext engine, VoteRound round, Together together, string lockId, TimeSpan timeout, long first)
    {
        var tokens = new long[together.Keys.Length];
        tokens[0] = first;
        for (var i = 1; i < tokens.Length; i++)
        {
            if (await FenceSettlement.SettleAsync(engine, round, together.Keys[i], together.FenceKeys[i], lockId, timeout, resourceIndex: i).ConfigureAwait(false) is not { } token)
            {
                return null;
            }

            tokens[i] = token;
        }

        return tokens;
    }

    /// <summary>Gives up an attempt on its key, or on every key of resources locked together.</summary>
    private static void Abandon(EngineContext engine, RedisKey key, string lockId, VoteRound round, Together? together)
    {
        if (together is null)
        {
            Release.Abandon(engine, key, lockId, round);
            return;
        }

        foreach (var each in together.Keys)
        {
            Release.Abandon(engine, each, lockId, round);
        }
    }
}
