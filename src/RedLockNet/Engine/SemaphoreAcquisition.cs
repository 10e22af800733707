using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>
/// One attempt at a permit of a semaphore of <c>maxCount</c> permits. Each permit is a slot, and each slot is a lock
/// of its own (<see cref="Acquisition"/> on the slot's key), so each slot has at most one holder by the lock's own
/// argument, and a semaphore of maxCount slots at most maxCount holders, however the nodes' views differ. Counting
/// holders per node would not bound them: with 3 nodes and 2 permits, holders on {A,B}, {B,C} and {A,C} each have a
/// majority while every node counts 2. The attempt first asks a majority which slots are taken (semaphore_scan.lua,
/// which also checks every client asks for the same count), then acquires a slot free on all of them, picked at random
/// so that concurrent callers spread out; when another caller wins that slot first it tries one more. A caller that
/// waits holds a ticket: the scan registers it in every slot's waiting room, so the release of any slot reserves that
/// slot for the first waiter and wakes it (<see cref="WaitingRooms"/>); its next scan sees the slot reserved for it,
/// tries that slot first, and takes it through the room.
/// </summary>
internal static class SemaphoreAcquisition
{
    /// <summary>How many free slots one attempt tries before it counts as contended.</summary>
    private const int SlotsPerAttempt = 2;

    /// <summary>
    /// The most permits for which waiting callers take a place in the slots' waiting rooms (each scan refreshes the
    /// ticket in every slot's room); larger semaphores' callers wait by polling.
    /// </summary>
    public const int MaxCountWithWaitingRooms = 64;

    /// <summary>
    /// Scans, then acquires a free slot. Returns the attempt (its grant is on the slot's key) and the slot, -1 when
    /// none was acquired. Throws <see cref="ArgumentException"/> when a node records another permit count, or holds
    /// the resource as a plain lock.
    /// </summary>
    public static async Task<(AcquireAttempt Attempt, int Slot)> AcquireOnceAsync(
        EngineContext engine, string resource, RedisKey lockKey, RedisKey[] slots, int maxCount, LockTiming timing, bool mintToken, CancellationToken cancellationToken, WaitingRooms.Ticket? ticket = null)
    {
        var countRetention = TimeSpan.FromHours(1) > timing.Expiry * 10 ? TimeSpan.FromHours(1) : timing.Expiry * 10;
        var place = ticket is null ? (SemaphoreTicket?)null : new SemaphoreTicket(ticket.Id, ticket.Order, engine.Rooms.StaleMs, engine.Rooms.RoomKeysOf(slots));
        var scan = new SemaphoreScanCall(lockKey, LockKeys.SemaphoreCountFor(lockKey), slots, maxCount, (long)countRetention.TotalMilliseconds, place).ToCall();
        var round = VoteRound.Start(engine.Nodes, scan, result => SemaphoreScanReply.IsReadable(result, maxCount), RoundEnd.WhenDecided, engine.Options.NodeTimeout, engine.Timeouts);
        await round.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var failure in round.Failures)
        {
            if (SemaphoreScanReply.RecordedCount(failure.Error) is { } recorded)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(maxCount), maxCount, $"Semaphore '{resource}' has {recorded} permits on node {failure.Node}; every client of a semaphore must ask for the same count (use another resource name for another count).");
            }

            if (SemaphoreScanReply.IsHeldAsLock(failure.Error))
            {
                throw new ArgumentException($"'{resource}' is held as a plain lock on node {failure.Node}; a resource is either a lock or a semaphore.", nameof(resource));
            }
        }

        if (!round.Quorum.IsWon)
        {
            return (new AcquireAttempt(AcquireOutcome.QuorumUnavailable, engine.Time.GetElapsedTime(round.StartedAt), round.Failures, "too few nodes said which permits are free", null), -1);
        }

        var (candidates, reserved) = FreeOnEveryAnswer(round, maxCount);
        AcquireAttempt? last = null;
        for (var tried = 0; tried < SlotsPerAttempt && candidates.Count > 0; tried++)
        {
            var pick = tried < reserved ? 0 : Timing.Backoff.Pick(candidates.Count); // a slot handed to us first
            var slot = candidates[pick];
            candidates.RemoveAt(pick);
            last = await Acquisition.AcquireOnceAsync(engine, resource, slots[slot], timing, mintToken, cancellationToken, ticket).ConfigureAwait(false);
            if (last.Outcome != AcquireOutcome.Contended)
            {
                return (last, last.Outcome == AcquireOutcome.Acquired ? slot : -1);
            }
        }

        return (last ?? new AcquireAttempt(AcquireOutcome.Contended, engine.Time.GetElapsedTime(round.StartedAt), round.Failures, null, null), -1);
    }

    /// <summary>
    /// The slots every node that answered the scan reported free or reserved for this caller, those reserved for it on
    /// some node first (how many of them: <c>Reserved</c>).
    /// </summary>
    private static (List<int> Candidates, int Reserved) FreeOnEveryAnswer(VoteRound round, int maxCount)
    {
        var answers = new List<string>(round.Nodes.Count);
        for (var node = 0; node < round.Nodes.Count; node++)
        {
            if (round.VoteOf(node) == Vote.Yes && round.ResultOf(node) is { } result)
            {
                answers.Add(SemaphoreScanReply.Slots(result));
            }
        }

        var free = new List<int>(maxCount);
        var reserved = 0;
        for (var slot = 0; slot < maxCount; slot++)
        {
            if (answers.TrueForAll(taken => taken[slot] is SemaphoreScanReply.Free or SemaphoreScanReply.ReservedForUs))
            {
                if (answers.Exists(taken => taken[slot] == SemaphoreScanReply.ReservedForUs))
                {
                    free.Insert(reserved++, slot);
                }
                else
                {
                    free.Add(slot);
                }
            }
        }

        return (free, reserved);
    }
}
