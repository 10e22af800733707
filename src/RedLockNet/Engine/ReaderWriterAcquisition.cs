using RedLockNet.Nodes.Scripts;
using RedLockNet.Timing;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>
/// One attempt at a reader-writer lock: many readers or one writer, each on a majority. A reader holds a key of its
/// own (listed in the readers' index); a writer holds the writer key. Each node grants a reader only while no writer
/// holds or waits for the lock there, and a writer only while no listed reader's key stands there; any two majorities
/// share a node, so a reader and a writer never both hold (the lock's own argument, one node deep). A refused writer
/// is announced as waiting on the nodes where readers held it, so readers arriving meanwhile are refused there and a
/// stream of readers cannot starve it (writer preference). Both kinds renew, report loss and release like a lock.
/// </summary>
internal static class ReaderWriterAcquisition
{
    /// <summary>How long a refused writer stays announced as waiting on a node: longer than the pause between its attempts.</summary>
    public static readonly TimeSpan WaitingAnnouncement = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The key beside which readers and writers that wait keep their tickets (the waiting writer's key): its room only
    /// wakes them (<see cref="WaitingRooms.WakeOnlyFor"/>) when a reader or a writer releases.
    /// </summary>
    public static RedisKey RoomKeyOf(RedisKey lockKey) => LockKeys.ReaderWriterFor(lockKey).Waiting;

    public static Task<AcquireAttempt> ReadOnceAsync(EngineContext engine, string resource, RedisKey lockKey, LockTiming timing, WaitingRooms.Ticket? ticket, CancellationToken cancellationToken)
    {
        var (writer, waiting, readers) = LockKeys.ReaderWriterFor(lockKey);
        var lockId = LockIds.New();
        var reader = LockKeys.ReaderFor(lockKey, LockIds.New()); // a name of its own, not the lock id
        var call = new ReadGrantCall(writer, waiting, readers, reader, lockId, TimeUnits.ToRedisMilliseconds(timing.Expiry), TicketIn(engine, waiting, ticket)).ToCall();
        return Acquisition.GrantOnceAsync(engine, resource, reader, lockId, call, timing, cancellationToken, wakeOnRelease: waiting);
    }

    public static Task<AcquireAttempt> WriteOnceAsync(EngineContext engine, string resource, RedisKey lockKey, LockTiming timing, WaitingRooms.Ticket? ticket, CancellationToken cancellationToken)
    {
        var (writer, waiting, readers) = LockKeys.ReaderWriterFor(lockKey);
        var lockId = LockIds.New();
        var call = new WriteGrantCall(writer, waiting, readers, lockId, TimeUnits.ToRedisMilliseconds(timing.Expiry), (long)WaitingAnnouncement.TotalMilliseconds, TicketIn(engine, waiting, ticket)).ToCall();
        return Acquisition.GrantOnceAsync(engine, resource, writer, lockId, call, timing, cancellationToken, wakeOnRelease: waiting);
    }

    private static WaitingTicket? TicketIn(EngineContext engine, RedisKey roomKey, WaitingRooms.Ticket? ticket) =>
        ticket is null ? null : new WaitingTicket(ticket.Id, ticket.Order, engine.Rooms.For(roomKey));
}
