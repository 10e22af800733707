using StackExchange.Redis;

namespace RedLockNet.Nodes.Scripts;

/// <summary>
/// A resource's waiting room on a node, as the scripts that use it see it: the room (a sorted set of tickets by their
/// order) and when each ticket was last seen (a sorted set by node time, in ms); how long a lock freed while someone
/// waits stays reserved for the first waiter; after how long an unseen ticket is dropped; and the prefix of the channel
/// on which a ticket's owner is woken (the ticket's part before its dot completes the channel name).
/// </summary>
internal readonly record struct WaitingRoom(RedisKey WaitingKey, RedisKey SeenKey, long HandoverMs, long StaleMs, string WakePrefix)
{
    /// <summary>Reads the room from <paramref name="call"/>: keys from <paramref name="keyAt"/>, hand-over ms, stale ms and prefix from <paramref name="argAt"/>.</summary>
    public static WaitingRoom Read(in ScriptCall call, int keyAt, int argAt) =>
        new(call.Keys[keyAt], call.Keys[keyAt + 1], (long)call.Args[argAt], (long)call.Args[argAt + 1], (string)call.Args[argAt + 2]!);
}

/// <summary>
/// A waiting caller's ticket as a grant script takes it after its own keys and arguments: the room's keys, then the
/// ticket, its order and the room's stale ms (the room's hand-over arguments are not sent and read as zero).
/// </summary>
internal readonly record struct WaitingTicket(string Id, long Order, WaitingRoom Room)
{
    /// <summary>The ticket in <paramref name="call"/> at <paramref name="keyAt"/> and <paramref name="argAt"/>, or null when the call carries none.</summary>
    public static WaitingTicket? Read(in ScriptCall call, int keyAt, int argAt) =>
        call.Args.Length > argAt
            ? new WaitingTicket((string)call.Args[argAt]!, (long)call.Args[argAt + 1], new WaitingRoom(call.Keys[keyAt], call.Keys[keyAt + 1], 0, (long)call.Args[argAt + 2], ""))
            : null;
}

/// <summary>
/// acquire_waiting.lua: acquisition by a caller that waits, through the waiting room. KEYS[1] lock key, KEYS[2] room,
/// KEYS[3] last seen; ARGV[1] lock id, ARGV[2] ttl ms, ARGV[3] ticket, ARGV[4] order, ARGV[5] stale ms.
/// Reply {1, 0} granted (reserved for this ticket, or free and this ticket first), {0, 0} not.
/// </summary>
internal readonly record struct AcquireWaitingCall(RedisKey LockKey, string LockId, long TtlMs, string TicketId, long Order, WaitingRoom Room)
{
    public static readonly LockScript Script = LockScript.Load("acquire_waiting", grantsLocks: true);

    public ScriptCall ToCall() => new(Script, [LockKey, Room.WaitingKey, Room.SeenKey], [LockId, TtlMs, TicketId, Order, Room.StaleMs]);

    /// <summary>Reads the call; the room's hand-over arguments are not sent with it and read as zero.</summary>
    public static AcquireWaitingCall Read(in ScriptCall call) =>
        new(call.Keys[0], (string)call.Args[0]!, (long)call.Args[1], (string)call.Args[2]!, (long)call.Args[3],
            new WaitingRoom(call.Keys[1], call.Keys[2], 0, (long)call.Args[4], ""));
}

/// <summary>
/// waiting_leave.lua: a waiter that gave up leaves the room, and a lock reserved for it passes on. KEYS[1] lock key,
/// KEYS[2..3] the room's keys; ARGV[1] ticket, ARGV[2..4] the room's hand-over arguments. Reply 1.
/// </summary>
internal readonly record struct WaitingLeaveCall(RedisKey LockKey, string TicketId, WaitingRoom Room)
{
    public static readonly LockScript Script = LockScript.Load("waiting_leave");

    public ScriptCall ToCall() => new(Script, [LockKey, Room.WaitingKey, Room.SeenKey], [TicketId, Room.HandoverMs, Room.StaleMs, Room.WakePrefix]);

    public static WaitingLeaveCall Read(in ScriptCall call) => new(call.Keys[0], (string)call.Args[0]!, WaitingRoom.Read(call, 1, 1));
}
