using System.Collections.Concurrent;
using RedLockNet.Nodes;
using RedLockNet.Nodes.Scripts;
using RedLockNet.Timing;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>
/// This factory's side of the waiting rooms the nodes keep per resource, which make waiting fair across processes.
/// A caller that waits (the first of its process's line, <see cref="LocalWaiters"/>) takes a ticket once its first
/// attempt found the lock held, or from the start in fair mode. The ticket's order is the wall-clock time it was
/// taken, the same number on every node, so every node agrees who is first. A release while someone waits does not
/// free the key: it reserves it for the first ticket for a short hand-over and publishes a wake-up on the channel of
/// the factory that holds it; nobody arriving meanwhile can take it, and only that factory is woken (no herd of
/// waiters racing into split votes). Each factory listens on one channel per node, subscribed once at connect.
/// A caller whose wait ends without the lock leaves the room, passing on a reservation made for it. A lost wake-up
/// costs at most the caller's back-off, a waiter that died without leaving at most <see cref="Stale"/>.
/// </summary>
internal sealed class WaitingRooms
{
    private readonly ConcurrentDictionary<string, LocalWaiters.Waiter> _tickets = new(StringComparer.Ordinal);
    private readonly string _factoryId = LockIds.New()[..16];
    private readonly TimeProvider _time;
    private readonly long _staleMs;
    private long _issued;

    public WaitingRooms(RedLockOptions options)
    {
        _time = options.TimeProvider;
        WakePrefix = options.KeyPrefix + "wake:";
        // a waiter refreshes its ticket at every attempt, at most MaxRetryDelay apart
        Stale = TimeSpan.FromMilliseconds(Math.Max(1000, 3 * options.MaxRetryDelay.TotalMilliseconds));
        _staleMs = TimeUnits.ToRedisMilliseconds(Stale);
    }

    /// <summary>The channel prefix; this factory's channel is the prefix and its id.</summary>
    public string WakePrefix { get; }

    /// <summary>This factory's wake-up channel.</summary>
    public RedisChannel Channel => RedisChannel.Literal(WakePrefix + _factoryId);

    /// <summary>How long an unseen ticket stays in a room, and how long a lock stays reserved for the first waiter.</summary>
    public TimeSpan Stale { get; }

    /// <summary><see cref="Stale"/> in milliseconds, as the scripts take it.</summary>
    public long StaleMs => _staleMs;

    /// <summary>The room of the lock <paramref name="lockKey"/>: keys beside it, in its hash slot.</summary>
    public WaitingRoom For(RedisKey lockKey) =>
        new(lockKey.Append(":waiting"), lockKey.Append(":seen"), _staleMs, _staleMs, WakePrefix);

    /// <summary>
    /// The room beside <paramref name="key"/> whose first waiter a release wakes without reserving anything
    /// for them: a reader-writer lock's, which readers and writers join and where several readers may get in at once.
    /// </summary>
    public WaitingRoom WakeOnlyFor(RedisKey key) => For(key) with { HandoverMs = 0 };

    /// <summary>The rooms of several locks (a semaphore's slots): each room's key and last-seen key, interleaved.</summary>
    public RedisKey[] RoomKeysOf(RedisKey[] lockKeys)
    {
        var keys = new RedisKey[lockKeys.Length * 2];
        for (var i = 0; i < lockKeys.Length; i++)
        {
            var room = For(lockKeys[i]);
            keys[2 * i] = room.WaitingKey;
            keys[(2 * i) + 1] = room.SeenKey;
        }

        return keys;
    }

    /// <summary>Listens for wake-ups on every node; nodes that are down now subscribe when they reconnect.</summary>
    public Task ListenAsync(NodeSet nodes)
    {
        var listens = new Task[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
        {
            listens[i] = nodes[i].SubscribeAsync(Channel, OnWake);
        }

        return Task.WhenAll(listens);
    }

    /// <summary>Gives <paramref name="waiter"/> a ticket, ordered by the wall clock now.</summary>
    public Ticket Issue(LocalWaiters.Waiter waiter)
    {
        var order = (_time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10; // microseconds: exact in a sorted set's double
        var ticket = new Ticket($"{_factoryId}.{Interlocked.Increment(ref _issued)}", order);
        _tickets[ticket.Id] = waiter;
        return ticket;
    }

    /// <summary>
    /// The waiter is done with its ticket (it won the lock, or gave up): every node is told to drop it, without
    /// waiting for answers. On each connection the drop runs before anything this holder sends later, its release too.
    /// </summary>
    public void Return(EngineContext engine, RedisKey lockKey, Ticket ticket)
    {
        _tickets.TryRemove(ticket.Id, out _);
        var leave = new WaitingLeaveCall(lockKey, ticket.Id, For(lockKey)).ToCall();
        for (var i = 0; i < engine.Nodes.Count; i++)
        {
            NodeCalls.Observe(NodeCalls.Start(engine.Nodes[i], leave));
        }
    }

    /// <summary>
    /// A semaphore's waiter is done with its ticket: every node is told to drop it from every slot's room (passing on
    /// any slot reserved for it), without waiting for answers.
    /// </summary>
    public void Return(EngineContext engine, RedisKey[] slots, Ticket ticket)
    {
        _tickets.TryRemove(ticket.Id, out _);
        var leave = new SemaphoreLeaveCall(slots, RoomKeysOf(slots), ticket.Id, _staleMs, _staleMs, WakePrefix).ToCall();
        for (var i = 0; i < engine.Nodes.Count; i++)
        {
            NodeCalls.Observe(NodeCalls.Start(engine.Nodes[i], leave));
        }
    }

    private void OnWake(RedisValue message)
    {
        if (message.HasValue && _tickets.TryGetValue(message.ToString(), out var waiter))
        {
            waiter.Wake();
        }
    }

    /// <summary>A place in the rooms: its id (this factory's id, a dot, a number) and its order.</summary>
    internal sealed record Ticket(string Id, long Order);
}
