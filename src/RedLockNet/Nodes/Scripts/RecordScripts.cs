using StackExchange.Redis;

namespace RedLockNet.Nodes.Scripts;

/// <summary>
/// record_put.lua: writes a record next to a lock while the lock is ours on the node.
/// KEYS[1] lock key, KEYS[2] record key, optional KEYS[3] fencing counter; ARGV[1] lock id, ARGV[2] value,
/// ARGV[3] retention ms, ARGV[4] '1' write once / '0' overwrite, with KEYS[3] ARGV[5] our token. Reply: see <see cref="RecordReply"/>.
/// </summary>
internal readonly record struct RecordPutCall(RedisKey LockKey, RedisKey RecordKey, string LockId, string Value, long RetentionMs, bool WriteOnce, RedisKey? FenceKey = null, long Token = 0)
{
    public static readonly LockScript Script = LockScript.Load("record_put", recallsRecords: true);

    public ScriptCall ToCall() => FenceKey is { } fence
        ? new(Script, [LockKey, RecordKey, fence], [LockId, Value, RetentionMs, WriteOnce ? "1" : "0", Token]) { Recalls = TimeSpan.FromMilliseconds(RetentionMs) }
        : new(Script, [LockKey, RecordKey], [LockId, Value, RetentionMs, WriteOnce ? "1" : "0"]) { Recalls = TimeSpan.FromMilliseconds(RetentionMs) };

    public static RecordPutCall Read(in ScriptCall call) => new(
        call.Keys[0], call.Keys[1], (string)call.Args[0]!, (string)call.Args[1]!, (long)call.Args[2], (string)call.Args[3]! == "1",
        call.Keys.Length > 2 ? (RedisKey?)call.Keys[2] : null, call.Keys.Length > 2 ? (long)call.Args[4] : 0);
}

/// <summary>record_get.lua: reads a record kept for <paramref name="Retention"/>. KEYS[1] record key. Reply: the value, or nil.</summary>
internal readonly record struct RecordGetCall(RedisKey RecordKey, TimeSpan Retention)
{
    public static readonly Func<RedisResult, bool> IsReadable = static result => result.IsNull || IsText(result);

    public static readonly LockScript Script = LockScript.Load("record_get", recallsRecords: true);

    public ScriptCall ToCall() => new(Script, [RecordKey], []) { Recalls = Retention };

    public static RecordGetCall Read(in ScriptCall call) => new(call.Keys[0], call.Recalls);

    /// <summary>Whether a reply is a string (a record value), the only shape a string conversion cannot throw on.</summary>
    public static bool IsText(RedisResult result) => result.Resp2Type is ResultType.BulkString or ResultType.SimpleString;
}

/// <summary>
/// tick_claim.lua: claims a numbered slot once across holders and raises the high-water record.
/// KEYS[1] lock key, KEYS[2] marker key, KEYS[3] high-water key; ARGV[1] lock id, ARGV[2] value, ARGV[3] marker
/// retention ms, ARGV[4] sequence, ARGV[5] high-water retention ms. Reply: see <see cref="RecordReply"/>.
/// </summary>
internal readonly record struct ClaimCall(RedisKey LockKey, RedisKey MarkerKey, RedisKey HighWaterKey, string LockId, string Value, long RetentionMs, long Sequence, long HighWaterRetentionMs)
{
    public static readonly LockScript Script = LockScript.Load("tick_claim", recallsRecords: true);

    public ScriptCall ToCall() => new(Script, [LockKey, MarkerKey, HighWaterKey], [LockId, Value, RetentionMs, Sequence, HighWaterRetentionMs]) { Recalls = TimeSpan.FromMilliseconds(RetentionMs) };

    public static ClaimCall Read(in ScriptCall call) => new(
        call.Keys[0], call.Keys[1], call.Keys[2], (string)call.Args[0]!, (string)call.Args[1]!, (long)call.Args[2], (long)call.Args[3], (long)call.Args[4]);
}

/// <summary>What a record write said on one node: 1 written (or already ours), -1 not the holder here, or the other value found.</summary>
internal static class RecordReply
{
    public const long Written = 1;

    public const long NotHolder = -1;

    /// <summary>The code (1, -1, or 0 when another value was found) and the other value; a reply of any other shape reads as not the holder.</summary>
    public static (long Code, string? Found) Read(RedisResult result)
    {
        if (result.IsNull)
        {
            return (NotHolder, null);
        }

        if (result.Resp2Type == ResultType.Integer)
        {
            return ((long)result == Written ? Written : NotHolder, null);
        }

        return RecordGetCall.IsText(result) ? (0, (string?)result) : (NotHolder, null);
    }

    /// <summary>The reply the scripts give for <paramref name="code"/> / <paramref name="found"/>.</summary>
    public static RedisResult Create(long code, string? found) =>
        found is { } value ? RedisResult.Create((RedisValue)value) : RedisResult.Create(code);
}
