using RedLockNet.Timing;

namespace RedLockNet.Nodes;

/// <summary>
/// One node's standing in the vote after connection trouble or data loss: the Redlock spec's rule that a node that
/// lost its data must stay out until every lock it might have granted has expired. A node is suspect from the moment
/// its connection drops, or a granting script finds that its data epoch changed, until a check reads its identity
/// again. If its epoch changed (it lost its data, restarted or not), it does not grant locks until the period has
/// passed since the new epoch began; if it came back as a new process (new run_id) with its epoch but younger than the
/// period and without persistence (an older snapshot can hold the old epoch), until the period has passed since its
/// start. Pure logic on a <see cref="TimeProvider"/>; <see cref="RedisLockNode"/> feeds it.
/// </summary>
internal sealed class RestartQuarantine
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private string? _runId;
    private string? _epoch;
    private bool _suspect;
    private long _until; // timestamp before which the node may not grant; 0 when not quarantined
    private long _lostAt; // latest timestamp at which the node may have lost its data, as a check found; 0 when never

    private readonly long _watchingSince;

    public RestartQuarantine(TimeProvider time)
    {
        _time = time;
        _watchingSince = time.GetTimestamp();
    }

    /// <summary>Whether the node must be checked before it may grant again.</summary>
    public bool IsSuspect
    {
        get
        {
            lock (_gate)
            {
                return _suspect;
            }
        }
    }

    /// <summary>The run_id last read from the node; null before the first check.</summary>
    public string? RunId
    {
        get
        {
            lock (_gate)
            {
                return _runId;
            }
        }
    }

    /// <summary>The data epoch last read from the node (identity.lua); null before the first read.</summary>
    public string? Epoch
    {
        get
        {
            lock (_gate)
            {
                return _epoch;
            }
        }
    }

    /// <summary>Time left in quarantine; zero when the node may grant (or must first be checked: see <see cref="IsSuspect"/>).</summary>
    public TimeSpan Remaining
    {
        get
        {
            lock (_gate)
            {
                return RemainingLocked();
            }
        }
    }

    /// <summary>
    /// Whether the node may grant now (<paramref name="recalls"/> zero), or answer for a record kept that long: neither
    /// suspect nor in quarantine; with the data epoch the script must find there, both read in one step. An epoch read
    /// apart from the standing could be a new epoch that a check has just read, paired with the "may grant" of before
    /// the check, and a script carrying it would pass the node's own epoch check in the middle of the quarantine that
    /// check began.
    /// </summary>
    public bool MayServe(TimeSpan recalls, out string? epoch)
    {
        lock (_gate)
        {
            epoch = _epoch;
            return !_suspect && RemainingForLocked(recalls) == TimeSpan.Zero;
        }
    }

    /// <summary>
    /// Time before the node may answer for a record kept for <paramref name="recalls"/> (zero: before it may grant).
    /// A node that lost its data could have forgotten every record written less than its retention before the loss:
    /// a write-once claim it no longer has could be made again, a completion record read as missing. So it stays out
    /// of such records until their retention has passed since the loss, however short the locks' quarantine.
    /// </summary>
    public TimeSpan RemainingFor(TimeSpan recalls)
    {
        lock (_gate)
        {
            return RemainingForLocked(recalls);
        }
    }

    /// <summary>
    /// The connection dropped (or was never made), or a granting script found another epoch: whatever answers next
    /// may have lost its data.
    /// </summary>
    public void Suspect()
    {
        lock (_gate)
        {
            _suspect = true;
        }
    }

    /// <summary>The first identity read at connect: this process is the baseline, not a restart.</summary>
    public void Baseline(string runId, string? epoch = null)
    {
        lock (_gate)
        {
            _runId ??= runId;
            _epoch ??= epoch;
        }
    }

    /// <summary>
    /// A check read the node's identity. Returns the quarantine it now serves (zero when it may grant): another
    /// <paramref name="epoch"/> than the one known keeps it out until <paramref name="period"/> after the new epoch
    /// began (<paramref name="epochAge"/> ago), persistence or not, unless <paramref name="mode"/> is Off; a new run_id
    /// with an uptime below <paramref name="period"/> and no persistence (as <paramref name="mode"/> asks) keeps it out
    /// until <paramref name="period"/> after its start.
    /// </summary>
    public TimeSpan Checked(string runId, TimeSpan uptime, bool persistent, RestartQuarantineMode mode, TimeSpan period, string? epoch = null, TimeSpan epochAge = default)
    {
        lock (_gate)
        {
            // the data epoch began when the node was found without one, so at or after it lost its data: every lock
            // it forgot was granted before, and has expired a period after the epoch began
            var lostData = epoch is not null && _epoch is not null && epoch != _epoch;
            _epoch = epoch ?? _epoch;
            if (lostData && mode != RestartQuarantineMode.Off)
            {
                _runId = runId;
                _suspect = false;
                LostLocked(epochAge);
                return QuarantineLocked(period - epochAge);
            }

            // without a baseline (the node did not answer at connect), only a process that started after we began
            // watching is a restart we witnessed; an older one was merely slow to answer. Uptime is whole seconds,
            // rounded down: the process may be up to a second older than it says, so only a start more than a second
            // after we began watching is certain (a fresh node that was slow to answer is not quarantined)
            var restarted = _runId is null ? uptime + TimeSpan.FromSeconds(1) < _time.GetElapsedTime(_watchingSince) : _runId != runId;
            _runId = runId;
            _suspect = false;
            var exempt = mode == RestartQuarantineMode.Off || (mode == RestartQuarantineMode.WhenNotPersistent && persistent);
            if (!restarted || exempt)
            {
                return RemainingLocked();
            }

            // uptime is whole seconds, rounded down: the node may be up to a second older, never younger, than it says
            LostLocked(uptime);
            return QuarantineLocked(period - uptime);
        }
    }

    /// <summary>The node lost its data <paramref name="ago"/> ago (at the latest): records are recalled from then on.</summary>
    private void LostLocked(TimeSpan ago) =>
        _lostAt = Math.Max(_lostAt, _time.GetTimestamp() - _time.ToTimestampTicks(ago < TimeSpan.Zero ? TimeSpan.Zero : ago));

    private TimeSpan RemainingForLocked(TimeSpan recalls)
    {
        var locks = RemainingLocked();
        if (recalls <= TimeSpan.Zero || _lostAt == 0)
        {
            return locks;
        }

        var records = _time.GetElapsedTime(_time.GetTimestamp(), _lostAt + _time.ToTimestampTicks(recalls));
        return records > locks ? records : locks;
    }

    /// <summary>Keeps the node out for <paramref name="left"/> more (or longer, when it already is).</summary>
    private TimeSpan QuarantineLocked(TimeSpan left)
    {
        if (left > TimeSpan.Zero)
        {
            _until = Math.Max(_until, _time.GetTimestamp() + _time.ToTimestampTicks(left));
        }

        return RemainingLocked();
    }

    /// <summary>Time left before <see cref="_until"/>; a quarantine that has run out is cleared.</summary>
    private TimeSpan RemainingLocked()
    {
        if (_until == 0)
        {
            return TimeSpan.Zero;
        }

        var now = _time.GetTimestamp();
        if (now >= _until)
        {
            _until = 0;
            return TimeSpan.Zero;
        }

        return _time.GetElapsedTime(now, _until);
    }
}
