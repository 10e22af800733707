using StackExchange.Redis;

namespace RedLockNet.Nodes.Scripts;

/// <summary>
/// release.lua: compare-and-delete, or hand-over to the first waiter of the waiting room. KEYS[1] lock key, KEYS[2..3]
/// the room's keys; ARGV[1] lock id, ARGV[2..4] the room's hand-over arguments. Reply 1 released, 0 gone or another id's.
/// </summary>
internal readonly record struct ReleaseCall(RedisKey LockKey, string LockId, WaitingRoom Room)
{
    public static readonly LockScript Script = LockScript.Load("release");

    public ScriptCall ToCall() => new(Script, [LockKey, Room.WaitingKey, Room.SeenKey], [LockId, Room.HandoverMs, Room.StaleMs, Room.WakePrefix]);

    public static ReleaseCall Read(in ScriptCall call) => new(call.Keys[0], (string)call.Args[0]!, WaitingRoom.Read(call, 1, 1));
}

/// <summary>One lock in an extend batch: its key, its id, and the new ttl in milliseconds.</summary>
internal readonly record struct ExtendEntry(RedisKey LockKey, string LockId, long TtlMs);

/// <summary>
/// extend.lua: compare-then-pexpire of a batch; never re-creates an expired key.
/// KEYS[i] lock key; ARGV[2i-1] its id, ARGV[2i] its ttl ms. Reply: an array of 1 (extended) / 0, in key order.
/// </summary>
internal readonly record struct ExtendCall(IReadOnlyList<ExtendEntry> Entries)
{
    public static readonly LockScript Script = LockScript.Load("extend");

    public ScriptCall ToCall()
    {
        var keys = new RedisKey[Entries.Count];
        var args = new RedisValue[Entries.Count * 2];
        for (var i = 0; i < Entries.Count; i++)
        {
            keys[i] = Entries[i].LockKey;
            args[2 * i] = Entries[i].LockId;
            args[(2 * i) + 1] = Entries[i].TtlMs;
        }

        return new ScriptCall(Script, keys, args);
    }

    public static ExtendCall Read(in ScriptCall call)
    {
        var entries = new ExtendEntry[call.Keys.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i] = new ExtendEntry(call.Keys[i], (string)call.Args[2 * i]!, (long)call.Args[(2 * i) + 1]);
        }

        return new ExtendCall(entries);
    }

    /// <summary>Reads the reply for a batch of <paramref name="count"/>; null when it has another shape.</summary>
    public static bool[]? ReadReply(RedisResult? result, int count)
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
            answers[i] = IntegerReply.IsOne(values[i]);
        }

        return answers;
    }
}

/// <summary>
/// extend_shard.lua (Redis 7.0 or later, cluster shards only): <see cref="ExtendCall"/> for locks in many slots of one
/// shard. KEYS[1] the first lock's key (routing); ARGV[3i-2] lock key, ARGV[3i-1] lock id, ARGV[3i] ttl ms. The reply
/// reads as <see cref="ExtendCall.ReadReply"/>.
/// </summary>
internal readonly record struct ShardExtendCall(IReadOnlyList<ExtendEntry> Entries)
{
    public static readonly LockScript Script = LockScript.Load("extend_shard");

    public ScriptCall ToCall()
    {
        var args = new RedisValue[Entries.Count * 3];
        for (var i = 0; i < Entries.Count; i++)
        {
            args[3 * i] = (string?)Entries[i].LockKey;
            args[(3 * i) + 1] = Entries[i].LockId;
            args[(3 * i) + 2] = Entries[i].TtlMs;
        }

        return new ScriptCall(Script, [Entries[0].LockKey], args);
    }

    public static ShardExtendCall Read(in ScriptCall call)
    {
        var entries = new ExtendEntry[call.Args.Length / 3];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i] = new ExtendEntry((string?)call.Args[3 * i], (string)call.Args[(3 * i) + 1]!, (long)call.Args[(3 * i) + 2]);
        }

        return new ShardExtendCall(entries);
    }
}
