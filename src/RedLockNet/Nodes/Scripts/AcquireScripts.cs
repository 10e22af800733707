using StackExchange.Redis;

namespace RedLockNet.Nodes.Scripts;

/// <summary>
/// Plain acquisition, no script: <c>SET KEYS[1] ARGV[1] NX PX ARGV[2]</c> (lock key; lock id, ttl ms). Reply OK when
/// granted, nil when the key exists (another owner's, or a repeated send of ours: never sent twice).
/// </summary>
internal readonly record struct AcquireCall(RedisKey LockKey, string LockId, long TtlMs)
{
    public static readonly LockScript Script = LockScript.Command(
        "acquire", "SET KEYS[1] ARGV[1] NX PX ARGV[2]",
        static (database, keys, args) => database.ExecuteAsync("SET", keys[0], args[0], "NX", "PX", args[1]), scriptName: "acquire");

    public ScriptCall ToCall() => new(Script, [LockKey], [LockId, TtlMs]);

    public static AcquireCall Read(in ScriptCall call) => new(call.Keys[0], (string)call.Args[0]!, (long)call.Args[1]);
}

/// <summary>
/// acquire_fenced.lua: grants where no key stands (as SET NX) and bumps the node's fencing counter to <c>max(counter + 1, floor)</c>.
/// KEYS[1] lock key, KEYS[2] counter key; ARGV[1] lock id, ARGV[2] ttl ms, ARGV[3] counter retention ms, ARGV[4] floor (µs).
/// </summary>
internal readonly record struct AcquireFencedCall(RedisKey LockKey, RedisKey FenceKey, string LockId, long TtlMs, long RetentionMs, long Floor)
{
    public static readonly LockScript Script = LockScript.Load("acquire_fenced", grantsLocks: true);

    public ScriptCall ToCall() => new(Script, [LockKey, FenceKey], [LockId, TtlMs, RetentionMs, Floor]);

    public static AcquireFencedCall Read(in ScriptCall call) =>
        new(call.Keys[0], call.Keys[1], (string)call.Args[0]!, (long)call.Args[1], (long)call.Args[2], (long)call.Args[3]);
}

/// <summary>
/// fence_mint.lua: mints a token for the current holder: the counter bumped to <c>max(counter + 1, floor)</c>, only
/// while our lock key stands. KEYS[1] lock key, KEYS[2] counter key; ARGV[1] lock id, ARGV[2] counter retention ms,
/// ARGV[3] floor (µs). Reply {1, counter} / {0, 0}, as acquire_fenced.lua.
/// </summary>
internal readonly record struct FenceMintCall(RedisKey LockKey, RedisKey FenceKey, string LockId, long RetentionMs, long Floor)
{
    public static readonly LockScript Script = LockScript.Load("fence_mint", grantsLocks: true);

    public ScriptCall ToCall() => new(Script, [LockKey, FenceKey], [LockId, RetentionMs, Floor]);

    public static FenceMintCall Read(in ScriptCall call) =>
        new(call.Keys[0], call.Keys[1], (string)call.Args[0]!, (long)call.Args[1], (long)call.Args[2]);
}

/// <summary>
/// acquire_all.lua: the locks on several resources whose keys share one hash slot, granted together where none of
/// their keys stands (all or nothing on each node), each counter bumped as acquire_fenced.lua does when
/// <paramref name="Floor"/> is not negative. KEYS[2i-1] resource i's lock key, KEYS[2i] its counter key; ARGV[1] lock
/// id, ARGV[2] ttl ms, ARGV[3] counter retention ms, ARGV[4] floor (µs) or -1 for no fencing. Reply
/// {1, counter 1, counter 2, ...} (0s without fencing) / {0}.
/// </summary>
internal readonly record struct AcquireAllCall(RedisKey[] Locks, RedisKey[] Fences, string LockId, long TtlMs, long RetentionMs, long Floor)
{
    public const long NoFencing = -1;

    public static readonly LockScript Script = LockScript.Load("acquire_all", grantsLocks: true);

    public ScriptCall ToCall()
    {
        var keys = new RedisKey[Locks.Length * 2];
        for (var i = 0; i < Locks.Length; i++)
        {
            keys[2 * i] = Locks[i];
            keys[(2 * i) + 1] = Fences[i];
        }

        return new(Script, keys, [LockId, TtlMs, RetentionMs, Floor]);
    }

    public static AcquireAllCall Read(in ScriptCall call)
    {
        var (locks, fences) = (new RedisKey[call.Keys.Length / 2], new RedisKey[call.Keys.Length / 2]);
        for (var i = 0; i < locks.Length; i++)
        {
            (locks[i], fences[i]) = (call.Keys[2 * i], call.Keys[(2 * i) + 1]);
        }

        return new(locks, fences, (string)call.Args[0]!, (long)call.Args[1], (long)call.Args[2], (long)call.Args[3]);
    }
}

/// <summary>
/// The reply of an acquisition: OK / nil (plain <c>SET NX</c>), {1, counter} / {0, 0} (acquire_fenced.lua and
/// fence_mint.lua), or {1, counter 1, counter 2, ...} / {0} (acquire_all.lua).
/// </summary>
internal static class GrantReply
{
    /// <summary>Granted, and the node's counter (0 without fencing); any other shape counts as not granted.</summary>
    public static (bool Granted, long Fence) Read(RedisResult? result)
    {
        if (result is null || result.IsNull)
        {
            return (false, 0);
        }

        if (result.Resp2Type is ResultType.SimpleString or ResultType.BulkString)
        {
            return ((string?)result == "OK", 0); // SET ... NX answered OK; any other string is no grant
        }

        if (result.Resp2Type == ResultType.Array)
        {
            var parts = (RedisResult[])result!;
            if (parts.Length >= 2 && parts[0].Resp2Type == ResultType.Integer && (long)parts[0] == 1 && parts[1].Resp2Type == ResultType.Integer)
            {
                return (true, (long)parts[1]);
            }
        }

        return (false, 0);
    }

    /// <summary>The counter of resource <paramref name="index"/> in a granting reply of acquire_all.lua (0 when absent).</summary>
    public static long FenceOf(RedisResult? result, int index)
    {
        if (index == 0 || result is null || result.Resp2Type != ResultType.Array)
        {
            return Read(result).Fence;
        }

        var parts = (RedisResult[])result!;
        return parts.Length > index + 1 && parts[index + 1].Resp2Type == ResultType.Integer ? (long)parts[index + 1] : 0;
    }

    public static bool IsGranted(RedisResult result) => Read(result).Granted;

    /// <summary>The error a grant script gives when the lock key marks the resource as in use as a semaphore.</summary>
    public const string InUseAsSemaphore = "LOCKISSEMAPHORE";

    /// <summary>Whether <paramref name="error"/> is a node saying the resource is in use as a semaphore there.</summary>
    public static bool IsInUseAsSemaphore(Exception? error) => ScriptError.Is(error, InUseAsSemaphore);

    /// <summary>The reply <c>SET ... NX</c> gives.</summary>
    public static RedisResult Plain(bool granted) => granted ? RedisResult.Create((RedisValue)"OK", ResultType.SimpleString) : RedisResult.Create(RedisValue.Null);

    /// <summary>The reply acquire_fenced.lua and fence_mint.lua give.</summary>
    public static RedisResult Fenced(bool granted, long fence) =>
        RedisResult.Create([RedisResult.Create(granted ? 1 : 0), RedisResult.Create(granted ? fence : 0)]);

    /// <summary>The reply acquire_all.lua gives.</summary>
    public static RedisResult All(bool granted, IEnumerable<long> fences) =>
        granted ? RedisResult.Create([RedisResult.Create(1), .. fences.Select(f => RedisResult.Create(f))]) : RedisResult.Create([RedisResult.Create(0)]);
}

/// <summary>
/// fence_raise.lua: raises a lagging counter to the token, only while our lock key still stands there.
/// KEYS[1] lock key, KEYS[2] counter key; ARGV[1] lock id, ARGV[2] token, ARGV[3] counter retention ms. Reply 1 / 0.
/// </summary>
internal readonly record struct FenceRaiseCall(RedisKey LockKey, RedisKey FenceKey, string LockId, long Token, long RetentionMs)
{
    public static readonly LockScript Script = LockScript.Load("fence_raise", grantsLocks: true);

    public ScriptCall ToCall() => new(Script, [LockKey, FenceKey], [LockId, Token, RetentionMs]);

    public static FenceRaiseCall Read(in ScriptCall call) =>
        new(call.Keys[0], call.Keys[1], (string)call.Args[0]!, (long)call.Args[1], (long)call.Args[2]);
}

/// <summary>Integer replies: 1 means done (granted, deleted, raised, extended).</summary>
internal static class IntegerReply
{
    public static bool IsOne(RedisResult result) => !result.IsNull && result.Resp2Type == ResultType.Integer && (long)result == 1;
}
