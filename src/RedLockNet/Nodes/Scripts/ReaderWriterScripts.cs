using StackExchange.Redis;

namespace RedLockNet.Nodes.Scripts;

/// <summary>
/// rw_read.lua: a reader's grant. KEYS[1] writer key, KEYS[2] waiting-writer key, KEYS[3] readers' index, KEYS[4] the
/// reader's key; ARGV[1] lock id, ARGV[2] ttl ms; a caller that waits adds its ticket (<see cref="WaitingTicket"/>:
/// KEYS[5..6] the room, ARGV[3..5] ticket, order, stale ms), registered where it is refused. Reply OK / nil, as
/// <see cref="AcquireCall"/>.
/// </summary>
internal readonly record struct ReadGrantCall(RedisKey WriterKey, RedisKey WaitingKey, RedisKey ReadersKey, RedisKey ReaderKey, string LockId, long TtlMs, WaitingTicket? Waiting = null)
{
    public static readonly LockScript Script = LockScript.Load("rw_read", grantsLocks: true);

    public ScriptCall ToCall() => Waiting is { } t
        ? new(Script, [WriterKey, WaitingKey, ReadersKey, ReaderKey, t.Room.WaitingKey, t.Room.SeenKey], [LockId, TtlMs, t.Id, t.Order, t.Room.StaleMs])
        : new(Script, [WriterKey, WaitingKey, ReadersKey, ReaderKey], [LockId, TtlMs]);

    public static ReadGrantCall Read(in ScriptCall call) =>
        new(call.Keys[0], call.Keys[1], call.Keys[2], call.Keys[3], (string)call.Args[0]!, (long)call.Args[1], WaitingTicket.Read(call, 4, 2));
}

/// <summary>
/// rw_write.lua: a writer's grant. KEYS[1] writer key, KEYS[2] waiting-writer key, KEYS[3] readers' index; ARGV[1]
/// lock id, ARGV[2] ttl ms, ARGV[3] how long a refused writer is announced as waiting (ms); a caller that waits adds
/// its ticket (KEYS[4..5] the room, ARGV[4..6] ticket, order, stale ms). Reply OK / nil.
/// </summary>
internal readonly record struct WriteGrantCall(RedisKey WriterKey, RedisKey WaitingKey, RedisKey ReadersKey, string LockId, long TtlMs, long WaitMs, WaitingTicket? Waiting = null)
{
    public static readonly LockScript Script = LockScript.Load("rw_write", grantsLocks: true);

    public ScriptCall ToCall() => Waiting is { } t
        ? new(Script, [WriterKey, WaitingKey, ReadersKey, t.Room.WaitingKey, t.Room.SeenKey], [LockId, TtlMs, WaitMs, t.Id, t.Order, t.Room.StaleMs])
        : new(Script, [WriterKey, WaitingKey, ReadersKey], [LockId, TtlMs, WaitMs]);

    public static WriteGrantCall Read(in ScriptCall call) =>
        new(call.Keys[0], call.Keys[1], call.Keys[2], (string)call.Args[0]!, (long)call.Args[1], (long)call.Args[2], WaitingTicket.Read(call, 3, 3));
}
