using StackExchange.Redis;

namespace RedLockNet.Nodes.Scripts;

/// <summary>
/// semaphore_scan.lua: which slots (permits) of a semaphore are taken on a node, after checking its permit count; a
/// waiting caller's ticket is registered in every slot's waiting room on the way. KEYS[1] lock key of the resource,
/// KEYS[2] permit-count key, KEYS[3..2+n] slot keys, then (with a ticket) each slot's waiting room and last-seen set;
/// ARGV[1] permit count, ARGV[2] how long the count is remembered (ms), then (with a ticket) the ticket, its order and
/// the stale ms. Reply: see <see cref="SemaphoreScanReply"/>.
/// </summary>
internal readonly record struct SemaphoreScanCall(RedisKey LockKey, RedisKey CountKey, RedisKey[] SlotKeys, int MaxCount, long CountRetentionMs, SemaphoreTicket? Waiting = null)
{
    public static readonly LockScript Script = LockScript.Load("semaphore_scan");

    public ScriptCall ToCall()
    {
        var rooms = Waiting?.RoomKeys ?? [];
        var keys = new RedisKey[2 + SlotKeys.Length + rooms.Length];
        keys[0] = LockKey;
        keys[1] = CountKey;
        SlotKeys.CopyTo(keys, 2);
        rooms.CopyTo(keys, 2 + SlotKeys.Length);
        return new(Script, keys, Waiting is { } t ? [MaxCount, CountRetentionMs, t.Id, t.Order, t.StaleMs] : [MaxCount, CountRetentionMs]);
    }

    public static SemaphoreScanCall Read(in ScriptCall call)
    {
        var slots = (int)call.Args[0];
        var ticket = call.Args.Length > 2
            ? new SemaphoreTicket((string)call.Args[2]!, (long)call.Args[3], (long)call.Args[4], call.Keys[(2 + slots)..])
            : (SemaphoreTicket?)null;
        return new(call.Keys[0], call.Keys[1], call.Keys[2..(2 + slots)], slots, (long)call.Args[1], ticket);
    }
}

/// <summary>
/// A waiting caller's place in a semaphore's slots' waiting rooms: its ticket, the order every node agrees on, after
/// how long an unseen ticket is dropped, and each slot's room and last-seen keys (interleaved, in slot order).
/// </summary>
internal readonly record struct SemaphoreTicket(string Id, long Order, long StaleMs, RedisKey[] RoomKeys);

/// <summary>
/// semaphore_leave.lua: a semaphore's waiter leaves every slot's waiting room, and a slot reserved for it passes on.
/// KEYS[1..n] slot keys, KEYS[n+1..3n] each slot's room and last-seen set (interleaved); ARGV[1] ticket, ARGV[2..4] the
/// rooms' hand-over arguments (hand-over ms, stale ms, wake prefix). Reply 1.
/// </summary>
internal readonly record struct SemaphoreLeaveCall(RedisKey[] SlotKeys, RedisKey[] RoomKeys, string TicketId, long HandoverMs, long StaleMs, string WakePrefix)
{
    public static readonly LockScript Script = LockScript.Load("semaphore_leave");

    public ScriptCall ToCall() => new(Script, [.. SlotKeys, .. RoomKeys], [TicketId, HandoverMs, StaleMs, WakePrefix]);

    public static SemaphoreLeaveCall Read(in ScriptCall call)
    {
        var slots = call.Keys.Length / 3;
        return new(call.Keys[..slots], call.Keys[slots..], (string)call.Args[0]!, (long)call.Args[1], (long)call.Args[2], (string)call.Args[3]!);
    }
}

/// <summary>What semaphore_scan.lua answered.</summary>
internal static class SemaphoreScanReply
{
    /// <summary>The error a node gives when it records another permit count for the resource.</summary>
    public const string CountMismatch = "SEMMAXCOUNT";

    /// <summary>
    /// What a semaphore's scan leaves under the resource's lock key, for as long as it remembers the permit count: a
    /// plain lock of that name is refused meanwhile (<see cref="GrantReply.InUseAsSemaphore"/>).
    /// </summary>
    public const string InUseMark = "#semaphore";

    /// <summary>The error a node gives when the resource is held there as a plain lock.</summary>
    public const string HeldAsLock = "SEMISLOCK";

    /// <summary>Whether a reply is the taken/free string for <paramref name="slots"/> slots (any other shape is unreadable).</summary>
    public static bool IsReadable(RedisResult result, int slots) =>
        result.Resp2Type is ResultType.BulkString or ResultType.SimpleString && ((string?)result)?.Length == slots;

    /// <summary>A slot free on the node.</summary>
    public const char Free = '0';

    /// <summary>A slot reserved for the scanning caller's ticket: released while it waited, and handed to it.</summary>
    public const char ReservedForUs = '2';

    /// <summary>The taken/free string of a readable reply: '0' at a free slot, '1' at a taken one, '2' at one reserved for the ticket.</summary>
    public static string Slots(RedisResult result) => (string)result!;

    /// <summary>The permit count a node recorded, when <paramref name="error"/> is its mismatch error.</summary>
    public static int? RecordedCount(Exception? error) =>
        ScriptError.Is(error, CountMismatch + " ")
        && int.TryParse(ScriptError.Text(error).AsSpan(CountMismatch.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            ? count : null;

    /// <summary>Whether <paramref name="error"/> says the resource is held as a plain lock there.</summary>
    public static bool IsHeldAsLock(Exception? error) => ScriptError.Is(error, HeldAsLock);
}
