using StackExchange.Redis;

namespace RedLockNet.Nodes.Scripts;

/// <summary>
/// semaphore_scan.lua: which slots (permits) of a semaphore are taken on a node, after checking its permit count.
/// KEYS[1] lock key of the resource, KEYS[2] permit-count key, KEYS[3..] slot keys; ARGV[1] permit count, ARGV[2] how
/// long the count is remembered (ms). Reply: see <see cref="SemaphoreScanReply"/>.
/// </summary>
internal readonly record struct SemaphoreScanCall(RedisKey LockKey, RedisKey CountKey, RedisKey[] SlotKeys, int MaxCount, long CountRetentionMs)
{
    public static readonly LockScript Script = LockScript.Load("semaphore_scan");

    public ScriptCall ToCall()
    {
        var keys = new RedisKey[SlotKeys.Length + 2];
        keys[0] = LockKey;
        keys[1] = CountKey;
        SlotKeys.CopyTo(keys, 2);
        return new(Script, keys, [MaxCount, CountRetentionMs]);
    }

    public static SemaphoreScanCall Read(in ScriptCall call) =>
        new(call.Keys[0], call.Keys[1], call.Keys[2..], (int)call.Args[0], (long)call.Args[1]);
}

/// <summary>What semaphore_scan.lua answered.</summary>
internal static class SemaphoreScanReply
{
    /// <summary>The error a node gives when it records another permit count for the resource.</summary>
    public const string CountMismatch = "SEMMAXCOUNT";

    /// <summary>The error a node gives when the resource is held there as a plain lock.</summary>
    public const string HeldAsLock = "SEMISLOCK";

    /// <summary>Whether a reply is the taken/free string for <paramref name="slots"/> slots (any other shape is unreadable).</summary>
    public static bool IsReadable(RedisResult result, int slots) =>
        result.Resp2Type is ResultType.BulkString or ResultType.SimpleString && ((string?)result)?.Length == slots;

    /// <summary>The taken/free string of a readable reply: '0' at a free slot.</summary>
    public static string Slots(RedisResult result) => (string)result!;

    /// <summary>The permit count a node recorded, when <paramref name="error"/> is its mismatch error.</summary>
    public static int? RecordedCount(Exception? error) =>
        ScriptError.Is(error, CountMismatch + " ")
        && int.TryParse(ScriptError.Text(error).AsSpan(CountMismatch.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            ? count : null;

    /// <summary>Whether <paramref name="error"/> says the resource is held as a plain lock there.</summary>
    public static bool IsHeldAsLock(Exception? error) => ScriptError.Is(error, HeldAsLock);
}
