using RedLockNet.Timing;
using RedLockNet.Engine;
using StackExchange.Redis;

namespace RedLockNet.Engine.Leases;

/// <summary>
/// The state of one held lock: its validity deadline on the monotonic clock, its status, and the token that
/// fires when this process can no longer be sure it holds the lock. Extensions are serialized per lease.
/// </summary>
#pragma warning disable CA1001 // the token source has no timer of its own and must stay usable by holders of LostToken after release; GC reclaims it
internal sealed class Lease
#pragma warning restore CA1001
{
    private readonly object _gate = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly ITimer _deadline;
    private readonly TimeProvider _time;
    private readonly RedLockOptions _options;
    private readonly long _holdCap;
    private readonly Action<Lease, LockLostReason> _onLost;
    private long _validUntil;
    private LockStatus _status = LockStatus.Held;
    private LockLostReason? _reason;
    private bool _capBinds;

    public Lease(
        string resource, RedisKey key, string lockId, TimeSpan ttl, long acquiredAt, long validUntil,
        bool autoRenew, TimeSpan? maxHoldTime, TimeSpan safetyMargin, RedLockOptions options, Action<Lease, LockLostReason> onLost)
    {
        Resource = resource;
        Key = key;
        LockId = lockId;
        Ttl = ttl;
        AutoRenew = autoRenew;
        SafetyMargin = safetyMargin;
        _time = options.TimeProvider;
        _options = options;
        _onLost = onLost;
        _validUntil = validUntil;
        _holdCap = maxHoldTime is { } cap ? acquiredAt + _time.ToTimestampTicks(cap) : long.MaxValue;
        _deadline = _time.CreateTimer(static state => ((Lease)state!).OnDeadline(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Arms the deadline; fires at once when it has already passed.</summary>
    public void Start()
    {
        bool lost;
        lock (_gate)
        {
            lost = !ArmDeadline();
        }

        if (lost)
        {
            Fire();
        }
    }

    public string Resource { get; }

    /// <summary>Monotonic timestamp at which the lock was handed out (for diagnostics and tests).</summary>
    public long GrantedAt { get; init; }

    /// <summary>The acquire calls, some of which may still have been in flight when the lock was handed out.</summary>
    public IReadOnlyList<Task<RedisResult>?> PendingGrants { get; init; } = [];

    /// <summary>Where the release wakes waiters rather than handing them the key: a reader-writer lock's room (see <see cref="LockGrant.WakeOnRelease"/>).</summary>
    public RedisKey? WakeOnRelease { get; init; }

    public RedisKey Key { get; }

    public string LockId { get; }

    /// <summary>The time to live each renewal sets; a manual extension changes it.</summary>
    public TimeSpan Ttl { get; private set; }

    public bool AutoRenew { get; }

    /// <summary>How long before the validity deadline <see cref="LostToken"/> fires.</summary>
    public TimeSpan SafetyMargin { get; }

    /// <summary>One extension at a time: a later one must not be overtaken by an earlier one.</summary>
    public SemaphoreSlim ExtendGate { get; } = new(1, 1);

    /// <summary>The handle that owns this lease, held weakly so a dropped handle is collected and its renewal stops.</summary>
    public WeakReference<RedLockHandle>? Owner { get; set; }

    /// <summary>When the renewer should renew next (monotonic timestamp).</summary>
    public long RenewAt { get; set; }

    /// <summary>This lease's slot in its renewer's <see cref="LeaseQueue"/>; -1 while it is not queued.</summary>
    public int QueueSlot { get; set; } = -1;

    public CancellationToken LostToken => _lost.Token;

    public LockStatus Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    public LockLostReason? LostReason
    {
        get
        {
            lock (_gate)
            {
                return _reason;
            }
        }
    }

    public bool IsActive => Status is LockStatus.Held or LockStatus.Renewing;

    /// <summary>The current validity deadline (monotonic timestamp), whatever the status.</summary>
    public long ValidUntil
    {
        get
        {
            lock (_gate)
            {
                return _validUntil;
            }
        }
    }

    public TimeSpan RemainingValidity
    {
        get
        {
            lock (_gate)
            {
                if (_status is LockStatus.Lost or LockStatus.Released)
                {
                    return TimeSpan.Zero;
                }

                var now = _time.GetTimestamp();
                return now >= _validUntil ? TimeSpan.Zero : _time.GetElapsedTime(now, _validUntil);
            }
        }
    }

    /// <summary>The ttl for the next extension: the lease's ttl, cut so the keys do not outlive the hold-time cap.</summary>
    public TimeSpan NextTtl(TimeSpan requested)
    {
        if (_holdCap == long.MaxValue)
        {
            return requested;
        }

        var left = _time.GetElapsedTime(_time.GetTimestamp(), _holdCap);
        return left < requested ? left : requested;
    }

    /// <summary>Records a manual extension's new ttl for later renewals.</summary>
    public void UseTtl(TimeSpan ttl) => Ttl = ttl;

    /// <summary>Applies an extension to <paramref name="ttl"/> that started at <paramref name="start"/>.</summary>
    /// <returns>The outcome as it applies to this lease: an extension of a lease that is no longer active changes nothing.</returns>
    public ExtendOutcome Apply(ExtendVerdict verdict, long start, TimeSpan ttl)
    {
        var timing = LockTiming.For(ttl, _options);
        var newDeadline = timing.DeadlineFrom(start, _time);

        // confirmed by a majority, but so late that less than the minimum validity is left: as for an acquisition,
        // that does not count, and the lease stays Renewing and is retried until its deadline
        var late = verdict.Outcome == ExtendOutcome.Extended && !timing.IsEnoughAfter(_time.GetElapsedTime(start));
        var outcome = late ? ExtendOutcome.Uncertain : verdict.Outcome;
        bool lost;
        lock (_gate)
        {
            if (_status is LockStatus.Lost or LockStatus.Released)
            {
                return outcome;
            }

            switch (outcome)
            {
                case ExtendOutcome.Extended:
                    // a majority expire our keys no earlier than start + ttl (their clocks, less drift); an
                    // earlier deadline no longer binds, a shorter ttl shortens it
                    _validUntil = newDeadline;
                    _status = LockStatus.Held;
                    _capBinds |= _holdCap != long.MaxValue && start + _time.ToTimestampTicks(ttl) >= _holdCap; // clamped to the cap
                    lost = !ArmDeadline();
                    break;
                case ExtendOutcome.Refused:
                    lost = true;
                    _status = LockStatus.Lost;
                    _reason = LockLostReason.Refused;
                    break;
                default:
                    // nodes that did not answer may have applied it: never trust a later deadline, accept an earlier
                    // one; a late confirmation did reach a majority, whose keys now expire start + ttl after it began
                    _validUntil = late ? newDeadline : Math.Min(_validUntil, newDeadline);
                    _status = LockStatus.Renewing;
                    lost = !ArmDeadline();
                    break;
            }
        }

        if (lost)
        {
            Fire();
        }

        return outcome;
    }

    /// <summary>Marks the lease released by its owner; the lost token will not fire after this. True when it was still active.</summary>
    public bool Release()
    {
        lock (_gate)
        {
            if (_status == LockStatus.Released)
            {
                return false;
            }

            var wasActive = _status is LockStatus.Held or LockStatus.Renewing;
            _status = LockStatus.Released;
            _deadline.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _deadline.Dispose();
            return wasActive;
        }
    }

    /// <summary>
    /// Points the deadline timer at the moment the holder must stop: the validity deadline less the safety
    /// margin, or the hold-time cap if sooner. Returns false (and marks the lease lost) when that moment has passed.
    /// </summary>
    private bool ArmDeadline()
    {
        var fireAt = _validUntil - _time.ToTimestampTicks(SafetyMargin);
        if (_holdCap < fireAt)
        {
            fireAt = _holdCap;
            _capBinds = true;
        }

        var now = _time.GetTimestamp();
        if (fireAt <= now)
        {
            _status = LockStatus.Lost;
            _reason = DeadlineReason();
            return false;
        }

        _deadline.Change(_time.GetElapsedTime(now, fireAt), Timeout.InfiniteTimeSpan);
        return true;
    }

    private void OnDeadline()
    {
        lock (_gate)
        {
            if (_status is LockStatus.Lost or LockStatus.Released)
            {
                return;
            }

            _status = LockStatus.Lost;
            _reason = DeadlineReason();
        }

        Fire();
    }

    private LockLostReason DeadlineReason() =>
        _capBinds ? LockLostReason.HoldTimeCapReached
        : AutoRenew ? LockLostReason.RenewalTimedOut
        : LockLostReason.Expired;

    /// <summary>Status is already Lost: stop the timer, cancel the token (callbacks run on the thread pool), tell the owner.</summary>
    private void Fire()
    {
        _deadline.Dispose();
        _ = _lost.CancelAsync();
        _onLost(this, LostReason ?? LockLostReason.RenewalTimedOut);
    }
}
