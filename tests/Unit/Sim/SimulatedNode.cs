using RedLockNet.Nodes;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Sim;

/// <summary>
/// A deterministic in-memory stand-in for one Redis node, for property tests of the pure protocol logic:
/// it interprets our scripts by name over a dictionary whose keys expire on the shared fake clock.
/// Production and the integration tests always use real servers.
/// </summary>
internal sealed class SimulatedNode(string name, TimeProvider time) : ILockNode
{
    private readonly Dictionary<string, (string Value, long ExpiresAt)> _data = [];
    private readonly Dictionary<string, Dictionary<string, (long Order, long SeenAt)>> _rooms = [];
    private readonly Dictionary<string, HashSet<string>> _sets = [];
    private readonly List<(string Key, string Id)> _grants = [];

    public string Name { get; } = name;

    /// <summary>A deliberate flaw this node has, to show that a property finds it; <see cref="SimulatedFlaw.None"/> normally.</summary>
    public SimulatedFlaw Flaw { get; init; }

    /// <summary>Every grant this node made, in order: the key and the id it was granted to (lost with neither restarts nor wipes).</summary>
    public IReadOnlyList<(string Key, string Id)> Grants
    {
        get
        {
            lock (_data)
            {
                return [.. _grants];
            }
        }
    }

    /// <summary>When false, every call fails as an unreachable node does.</summary>
    public bool IsUp { get; set; } = true;

    public int Calls { get; private set; }

    /// <summary>How many extend scripts reached this node (one per batch, however many locks it carried).</summary>
    public int ExtendCalls { get; private set; }

    /// <summary>How many second-round fencing raises reached this node.</summary>
    public int RaiseCalls { get; private set; }

    /// <summary>How many locks those extend scripts carried in all.</summary>
    public int ExtendedLocks { get; private set; }

    /// <summary>
    /// Interprets <paramref name="call"/> as the Lua script does. Arguments are read through each script's C#
    /// description (the same type production code builds the call with), never by index here.
    /// </summary>
    public Task<RedisResult> RunAsync(ScriptCall call)
    {
        Calls++;
        if (!IsUp)
        {
            return Task.FromException<RedisResult>(new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"{Name} is down", null, CommandStatus.WaitingToBeSent));
        }

        var script = call.Script;
        if (script == InfoCall.Script)
        {
            return Task.FromResult(RedisResult.Create((RedisValue)$"# Server\r\nrun_id:{Name}\r\nuptime_in_seconds:3600\r\n"));
        }

        lock (_data)
        {
            if (script == IdentityCall.Script)
            {
                // identity.lua: the epoch lives with the data, so Wipe() starts a new one; the node's clock is the fake clock
                var read = IdentityCall.Read(call);
                var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
                var epoch = Get((string)read.EpochKey!) ?? $"{nowMs}-{read.NewEpoch}";
                _data[(string)read.EpochKey!] = (epoch, long.MaxValue);
                return Task.FromResult(IdentityReply.Create($"# Server\r\nrun_id:{Name}\r\nuptime_in_seconds:3600\r\n", epoch, nowMs));
            }

            try
            {
                return Task.FromResult(Interpret(call));
            }
            catch (RedisServerException error)
            {
                return Task.FromException<RedisResult>(error); // a script's error reply
            }
        }
    }

    private RedisResult Interpret(in ScriptCall call)
    {
        var script = call.Script;
        if (script == AcquireCall.Script)
        {
            var a = AcquireCall.Read(call);
            return GrantReply.Plain(SetIfAbsent((string)a.LockKey!, a.LockId, a.TtlMs));
        }

        if (script == AcquireFencedCall.Script)
        {
            var a = AcquireFencedCall.Read(call);
            var (granted, fence) = AcquireFenced((string)a.LockKey!, (string)a.FenceKey!, a.LockId, a.TtlMs, a.Floor);
            return GrantReply.Fenced(granted == 1, fence);
        }

        if (script == AcquireAllCall.Script)
        {
            var a = AcquireAllCall.Read(call);
            return AcquireAll(a.Locks, a.Fences, a.LockId, a.TtlMs, a.Floor);
        }

        if (script == FenceMintCall.Script)
        {
            var m = FenceMintCall.Read(call);
            var (minted, fence) = Mint((string)m.LockKey!, (string)m.FenceKey!, m.LockId, m.Floor);
            return GrantReply.Fenced(minted, fence);
        }

        if (script == FenceRaiseCall.Script)
        {
            RaiseCalls++;
            var r = FenceRaiseCall.Read(call);
            return RedisResult.Create(Raise((string)r.LockKey!, (string)r.FenceKey!, r.LockId, r.Token));
        }

        if (script == ReleaseCall.Script)
        {
            var r = ReleaseCall.Read(call);
            if (Get((string)r.LockKey!) != r.LockId)
            {
                return RedisResult.Create(0);
            }

            Handover((string)r.LockKey!, r.Room);
            return RedisResult.Create(1);
        }

        if (script == AcquireWaitingCall.Script)
        {
            var a = AcquireWaitingCall.Read(call);
            return GrantReply.Fenced(AcquireWaiting((string)a.LockKey!, a.LockId, a.TtlMs, a.TicketId, a.Order, a.Room), 0);
        }

        if (script == WaitingLeaveCall.Script)
        {
            var l = WaitingLeaveCall.Read(call);
            var room = Room(l.Room);
            room.Remove(l.TicketId);
            if (Get((string)l.LockKey!) == "~" + l.TicketId)
            {
                Handover((string)l.LockKey!, l.Room);
            }

            return RedisResult.Create(1);
        }

        if (script == ExtendCall.Script)
        {
            var entries = ExtendCall.Read(call).Entries;
            ExtendCalls++;
            ExtendedLocks += entries.Count;
            var results = new RedisResult[entries.Count];
            for (var i = 0; i < entries.Count; i++)
            {
                results[i] = RedisResult.Create(Extend((string)entries[i].LockKey!, entries[i].LockId, entries[i].TtlMs));
            }

            return RedisResult.Create(results);
        }

        if (script == SemaphoreScanCall.Script)
        {
            return SemaphoreScan(SemaphoreScanCall.Read(call));
        }

        if (script == SemaphoreLeaveCall.Script)
        {
            var leave = SemaphoreLeaveCall.Read(call);
            for (var slot = 0; slot < leave.SlotKeys.Length; slot++)
            {
                var room = new WaitingRoom(leave.RoomKeys[2 * slot], leave.RoomKeys[(2 * slot) + 1], leave.HandoverMs, leave.StaleMs, leave.WakePrefix);
                Room(room).Remove(leave.TicketId);
                if (Get((string)leave.SlotKeys[slot]!) == "~" + leave.TicketId)
                {
                    Handover((string)leave.SlotKeys[slot]!, room);
                }
            }

            return RedisResult.Create(1);
        }

        if (script == ReadGrantCall.Script)
        {
            var r = ReadGrantCall.Read(call);
            return GrantReply.Plain(ReadGrant((string)r.WriterKey!, (string)r.WaitingKey!, (string)r.ReadersKey!, (string)r.ReaderKey!, r.LockId, r.TtlMs));
        }

        if (script == WriteGrantCall.Script)
        {
            var w = WriteGrantCall.Read(call);
            return GrantReply.Plain(WriteGrant((string)w.WriterKey!, (string)w.WaitingKey!, (string)w.ReadersKey!, w.LockId, w.TtlMs, w.WaitMs));
        }

        if (script == RecordPutCall.Script)
        {
            var put = RecordPutCall.Read(call);
            if (put.FenceKey is { } fenceKey && Fence((string)fenceKey!) > put.Token)
            {
                return RecordReply.Create(RecordReply.NotHolder, null); // a later holder raised the fencing counter here
            }

            var (code, found) = RecordPut((string)put.LockKey!, (string)put.RecordKey!, put.LockId, put.Value, put.RetentionMs, put.WriteOnce);
            return RecordReply.Create(code, found);
        }

        if (script == RecordGetCall.Script)
        {
            return RedisResult.Create((RedisValue)Get((string)RecordGetCall.Read(call).RecordKey!));
        }

        if (script == ClaimCall.Script)
        {
            var c = ClaimCall.Read(call);
            var (code, found) = TickClaim((string)c.LockKey!, (string)c.MarkerKey!, (string)c.HighWaterKey!, c.LockId, c.Value, c.RetentionMs, c.Sequence, c.HighWaterRetentionMs);
            return RecordReply.Create(code, found);
        }

        throw new NotSupportedException(script.Name);
    }

    /// <summary>SET key id NX PX ttl: only where no key stands (a repeated send of the same id is refused too).</summary>
    private bool SetIfAbsent(string key, string id, long ttlMs)
    {
        key = SlotStandIn(key);
        if (Get(key) is not null)
        {
            return false;
        }

        Grant(key, id, ttlMs);
        return true;
    }

    /// <summary>Sets <paramref name="key"/> to <paramref name="id"/> for <paramref name="ttlMs"/>, and logs the grant.</summary>
    private void Grant(string key, string id, long ttlMs)
    {
        _data[key] = (id, time.GetTimestamp() + Ticks(TimeSpan.FromMilliseconds(ttlMs)));
        _grants.Add((key, id));
    }

    /// <summary>
    /// semaphore_scan.lua: refuses a resource held as a plain lock or recorded with another permit count, records the
    /// count, and answers '1' per taken slot and '0' per free one. With <see cref="SimulatedFlaw.SemaphoreCountsHoldersPerNode"/>
    /// it only counts: every slot reads free while fewer than maxCount are taken here.
    /// </summary>
    private RedisResult SemaphoreScan(SemaphoreScanCall scan)
    {
        if (Get((string)scan.LockKey!) is { } mark && mark != SemaphoreScanReply.InUseMark)
        {
            throw new RedisServerException(RedisErrorKind.UnknownError, CommandFlags.None, SemaphoreScanReply.HeldAsLock + " the resource is held as a plain lock");
        }

        var count = scan.MaxCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (Get((string)scan.CountKey!) is { } recorded && recorded != count)
        {
            throw new RedisServerException(RedisErrorKind.UnknownError, CommandFlags.None, SemaphoreScanReply.CountMismatch + " " + recorded);
        }

        _data[(string)scan.CountKey!] = (count, time.GetTimestamp() + Ticks(TimeSpan.FromMilliseconds(scan.CountRetentionMs)));
        _data[(string)scan.LockKey!] = (SemaphoreScanReply.InUseMark, time.GetTimestamp() + Ticks(TimeSpan.FromMilliseconds(scan.CountRetentionMs)));
        if (scan.Waiting is { } ticket)
        {
            for (var slot = 0; slot < scan.SlotKeys.Length; slot++)
            {
                var room = Room(new WaitingRoom(ticket.RoomKeys[2 * slot], ticket.RoomKeys[(2 * slot) + 1], 0, ticket.StaleMs, ""));
                room[ticket.Id] = (room.TryGetValue(ticket.Id, out var known) ? known.Order : ticket.Order, time.GetTimestamp());
            }
        }

        var taken = scan.SlotKeys.Select(k => Get((string)k!) switch
        {
            null => '0',
            { } holder when holder == "~" + scan.Waiting?.Id => '2',
            _ => '1',
        }).ToArray();
        if (Flaw == SimulatedFlaw.SemaphoreCountsHoldersPerNode)
        {
            Array.Fill(taken, taken.Count(t => t == '1') < scan.MaxCount ? '0' : '1');
        }

        return RedisResult.Create((RedisValue)new string(taken), ResultType.BulkString);
    }

    /// <summary>
    /// The key a grant on <paramref name="key"/> lands on: the key itself, except with
    /// <see cref="SimulatedFlaw.SemaphoreCountsHoldersPerNode"/>, where a taken slot is swapped for any free slot of the
    /// same semaphore here (the node counts holders, whichever slot they asked for).
    /// </summary>
    private string SlotStandIn(string key)
    {
        var at = key.LastIndexOf(":sem:", StringComparison.Ordinal);
        if (Flaw != SimulatedFlaw.SemaphoreCountsHoldersPerNode || at < 0 || Get(key) is null
            || !int.TryParse(Get(key[..at] + ":sem"), System.Globalization.CultureInfo.InvariantCulture, out var maxCount))
        {
            return key;
        }

        for (var slot = 0; slot < maxCount; slot++)
        {
            var sibling = string.Concat(key.AsSpan(0, at), ":sem:", slot.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (Get(sibling) is null)
            {
                return sibling;
            }
        }

        return key;
    }

    /// <summary>rw_read.lua: no reader while a writer holds or waits here (with <see cref="SimulatedFlaw.ReaderIgnoresWriter"/>, only the waiting writer counts).</summary>
    private bool ReadGrant(string writerKey, string waitingKey, string readersKey, string readerKey, string id, long ttlMs)
    {
        if ((Flaw != SimulatedFlaw.ReaderIgnoresWriter && Get(writerKey) is not null) || Get(waitingKey) is not null)
        {
            return false;
        }

        Grant(readerKey, id, ttlMs);
        Set(readersKey).Add(readerKey);
        return true;
    }

    /// <summary>rw_write.lua: no writer while another holds, or while a listed reader's key stands (then it is announced as waiting).</summary>
    private bool WriteGrant(string writerKey, string waitingKey, string readersKey, string id, long ttlMs, long waitMs)
    {
        if (Get(writerKey) is not null)
        {
            return false;
        }

        var readers = Set(readersKey);
        foreach (var reader in readers.ToList())
        {
            if (Get(reader) is not null)
            {
                _data[waitingKey] = (id, time.GetTimestamp() + Ticks(TimeSpan.FromMilliseconds(waitMs)));
                return false;
            }

            readers.Remove(reader);
        }

        Grant(writerKey, id, ttlMs);
        _data.Remove(waitingKey);
        return true;
    }

    private HashSet<string> Set(string key)
    {
        if (!_sets.TryGetValue(key, out var set))
        {
            _sets[key] = set = new HashSet<string>(StringComparer.Ordinal);
        }

        return set;
    }

    /// <summary>The id holding <paramref name="key"/> now, or null.</summary>
    public string? Holder(string key)
    {
        lock (_data)
        {
            return Get(key);
        }
    }

    /// <summary>Removes one key, as an operator or an eviction would.</summary>
    public void Delete(string key)
    {
        lock (_data)
        {
            _data.Remove(key);
        }
    }

    /// <summary>Puts a foreign holder on the key, as another client would.</summary>
    public void Hold(string key, string id, TimeSpan ttl)
    {
        lock (_data)
        {
            _data[key] = (id, time.GetTimestamp() + Ticks(ttl));
        }
    }

    /// <summary>The value of any key now (records, tick markers), or null.</summary>
    public string? Value(string key)
    {
        lock (_data)
        {
            return Get(key);
        }
    }

    /// <summary>record_put.lua: writes the record only while the lock is ours here; write-once keeps another value.</summary>
    private (long Code, string? Found) RecordPut(string lockKey, string recordKey, string id, string value, long retentionMs, bool writeOnce)
    {
        if (Get(lockKey) != id)
        {
            return (-1, null);
        }

        if (writeOnce && Get(recordKey) is { } existing)
        {
            return existing == value ? (1, null) : (0, existing);
        }

        _data[recordKey] = (value, time.GetTimestamp() + Ticks(TimeSpan.FromMilliseconds(retentionMs)));
        return (1, null);
    }

    /// <summary>tick_claim.lua: a write-once marker per tick, and the job's highest claimed tick raised with it.</summary>
    private (long Code, string? Found) TickClaim(string lockKey, string markerKey, string lastKey, string id, string value, long markerMs, long tickMs, long lastMs)
    {
        if (Get(lockKey) != id)
        {
            return (-1, null);
        }

        if (Get(markerKey) is { } existing)
        {
            return existing == value ? (1, null) : (0, existing);
        }

        _data[markerKey] = (value, time.GetTimestamp() + Ticks(TimeSpan.FromMilliseconds(markerMs)));
        var lastExpiry = time.GetTimestamp() + Ticks(TimeSpan.FromMilliseconds(lastMs));
        var last = Get(lastKey);
        if (tickMs > (long.TryParse(last, out var stored) ? stored : 0))
        {
            _data[lastKey] = (tickMs.ToString(System.Globalization.CultureInfo.InvariantCulture), lastExpiry);
        }
        else if (last is not null)
        {
            _data[lastKey] = (last, lastExpiry);
        }

        return (1, null);
    }

    /// <summary>This node's fencing counter for a fence key (0 when absent).</summary>
    public long Fence(string fenceKey)
    {
        lock (_data)
        {
            return long.TryParse(Get(fenceKey), out var value) ? value : 0;
        }
    }

    /// <summary>acquire_fenced.lua: grants only where no key stands, and bumps the counter.</summary>
    private (long Granted, long Fence) AcquireFenced(string key, string fenceKey, string id, long ttlMs, long floor)
    {
        key = SlotStandIn(key);
        if (RefuseSemaphoreMark(Get(key)) is not null)
        {
            return (0, 0);
        }

        var fence = Bump(fenceKey, floor);
        Grant(key, id, ttlMs);
        return (1, fence);
    }

    /// <summary>
    /// acquire_all.lua: every lock key granted where none stands, else none; each counter bumped when fencing. With
    /// <see cref="SimulatedFlaw.GrantsEachUntilOneIsHeld"/> it grants one key after the other and stops at the first that
    /// stands, keeping those before it while it answers no.
    /// </summary>
    private RedisResult AcquireAll(RedisKey[] keys, RedisKey[] fenceKeys, string id, long ttlMs, long floor)
    {
        if (Flaw != SimulatedFlaw.GrantsEachUntilOneIsHeld && keys.Any(k => RefuseSemaphoreMark(Get((string)k!)) is not null))
        {
            return GrantReply.All(false, []);
        }

        var fences = new long[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            if (!SetIfAbsent((string)keys[i]!, id, ttlMs))
            {
                return GrantReply.All(false, []);
            }

            if (floor != AcquireAllCall.NoFencing)
            {
                fences[i] = Bump((string)fenceKeys[i]!, floor);
            }
        }

        return GrantReply.All(true, fences);
    }

    /// <summary>_semaphore_mark_check.lua: a lock key's value, unless it marks the resource as a semaphore's (an error reply then).</summary>
    private static string? RefuseSemaphoreMark(string? holder) =>
        holder == SemaphoreScanReply.InUseMark
            ? throw new RedisServerException(RedisErrorKind.UnknownError, CommandFlags.None, GrantReply.InUseAsSemaphore + " the resource is in use as a semaphore")
            : holder;

    /// <summary>_fence_bump.lua: the counter becomes max(counter + 1, floor).</summary>
    private long Bump(string fenceKey, long floor)
    {
        var fence = Math.Max((long.TryParse(Get(fenceKey), out var stored) ? stored : 0) + 1, floor);
        _data[fenceKey] = (fence.ToString(System.Globalization.CultureInfo.InvariantCulture), long.MaxValue);
        return fence;
    }

    /// <summary>fence_mint.lua: bumps the counter only while the key holds our id.</summary>
    private (bool Minted, long Fence) Mint(string key, string fenceKey, string id, long floor)
    {
        if (Get(key) != id)
        {
            return (false, 0);
        }

        var fence = Bump(fenceKey, floor);
        return (true, fence);
    }

    private long Raise(string key, string fenceKey, string id, long token)
    {
        if (Get(key) != id)
        {
            return 0;
        }

        var fence = long.TryParse(Get(fenceKey), out var stored) ? stored : 0;
        if (fence < token)
        {
            _data[fenceKey] = (token.ToString(System.Globalization.CultureInfo.InvariantCulture), long.MaxValue);
        }

        return 1;
    }

    private long Extend(string key, string id, long ttlMs)
    {
        if (Get(key) == id)
        {
            _data[key] = (id, time.GetTimestamp() + Ticks(TimeSpan.FromMilliseconds(ttlMs)));
            return 1;
        }

        return 0;
    }

    /// <summary>Forgets every key, as a node restarted without persistence does.</summary>
    public void Wipe()
    {
        lock (_data)
        {
            _data.Clear();
            _sets.Clear();
            _rooms.Clear();
        }
    }

    /// <summary>The room, without the tickets not seen for its stale time (_waiting_prune.lua).</summary>
    private Dictionary<string, (long Order, long SeenAt)> Room(in WaitingRoom description)
    {
        var key = (string)description.WaitingKey!;
        if (!_rooms.TryGetValue(key, out var room))
        {
            _rooms[key] = room = [];
        }

        var staleBefore = time.GetTimestamp() - Ticks(TimeSpan.FromMilliseconds(description.StaleMs));
        foreach (var gone in room.Where(t => t.Value.SeenAt <= staleBefore).Select(t => t.Key).ToList())
        {
            room.Remove(gone);
        }

        return room;
    }

    /// <summary>The first ticket by order (ties by ticket, as a sorted set orders them), or null.</summary>
    private static string? First(Dictionary<string, (long Order, long SeenAt)> room) =>
        room.Count == 0 ? null : room.OrderBy(t => t.Value.Order).ThenBy(t => t.Key, StringComparer.Ordinal).First().Key;

    /// <summary>_handover.lua: reserve the lock for the first live waiter, or delete it.</summary>
    private void Handover(string lockKey, in WaitingRoom description)
    {
        if (First(Room(description)) is { } first && description.HandoverMs > 0) // a room of 0 ms only wakes its waiters (no pub/sub here)
        {
            _data[lockKey] = ("~" + first, time.GetTimestamp() + Ticks(TimeSpan.FromMilliseconds(description.HandoverMs)));
        }
        else
        {
            _data.Remove(lockKey);
        }
    }

    /// <summary>acquire_waiting.lua: register the ticket; grant when reserved for it, or free and it is first (the ticket stays).</summary>
    private bool AcquireWaiting(string lockKey, string id, long ttlMs, string ticket, long order, in WaitingRoom description)
    {
        var holder = RefuseSemaphoreMark(Get(lockKey));
        var room = Room(description);
        var now = time.GetTimestamp();
        room[ticket] = (room.TryGetValue(ticket, out var known) ? known.Order : order, now);
        if (holder == "~" + ticket || (holder is null && First(room) == ticket))
        {
            Grant(lockKey, id, ttlMs);
            return true;
        }

        return false;
    }

    private string? Get(string key)
    {
        if (_data.TryGetValue(key, out var entry))
        {
            if (time.GetTimestamp() < entry.ExpiresAt)
            {
                return entry.Value;
            }

            _data.Remove(key);
        }

        return null;
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);
}

/// <summary>Deliberate flaws of a simulated node, each a plausible mistake a property test must find.</summary>
internal enum SimulatedFlaw
{
    None,

    /// <summary>The semaphore as a per-node counter: a node grants any holder while it counts fewer than maxCount.</summary>
    SemaphoreCountsHoldersPerNode,

    /// <summary>A reader's grant checks only for a waiting writer, not for one holding the lock.</summary>
    ReaderIgnoresWriter,

    /// <summary>The multi-lock's one-round grant takes the keys one by one and keeps those it took when a later one stands.</summary>
    GrantsEachUntilOneIsHeld,
}
