using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RedLockNet.Engine;
using RedLockNet.Diagnostics;

namespace RedLockNet.Engine.Leases;

/// <summary>A lock held on a majority of nodes: the public face of a <see cref="Lease"/>.</summary>
internal sealed class RedLockHandle : ILockHandle
{
    private readonly EngineContext _engine;
    private readonly LockLeases _leases;
    private readonly Lease _lease;
    private readonly Lock _mintGate = new();
    private Task<long>? _minting;
    private long _token; // 0 until minted
    private int _releasing;

    public RedLockHandle(EngineContext engine, LockLeases leases, Lease lease, long? fencingToken)
    {
        _engine = engine;
        _leases = leases;
        _lease = lease;
        _token = fencingToken ?? 0;
    }

    /// <inheritdoc />
    public event EventHandler<LockLostEventArgs>? Lost;

    /// <inheritdoc />
    public string Resource => _lease.Resource;

    /// <inheritdoc />
    public string LockId => _lease.LockId;

    /// <inheritdoc />
    public long? FencingToken => Volatile.Read(ref _token) is var token and > 0 ? token : null;

    /// <inheritdoc />
    public ValueTask<long> GetFencingTokenAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _token) is var token and > 0)
        {
            return ValueTask.FromResult(token);
        }

        if (!_engine.Options.Fencing)
        {
            throw new InvalidOperationException("Fencing tokens are off for this factory (RedLockOptions.Fencing).");
        }

        Task<long> minting;
        lock (_mintGate)
        {
            // one mint at a time per handle; a failed one may be tried again
            if (_minting is null || _minting.IsFaulted || _minting.IsCanceled)
            {
                _minting = MintAsync();
            }

            minting = _minting;
        }

        return new ValueTask<long>(minting.WaitAsync(cancellationToken));
    }

    /// <inheritdoc />
    public TimeSpan RemainingValidity => _lease.RemainingValidity;

    /// <inheritdoc />
    public CancellationToken LostToken => _lease.LostToken;

    /// <inheritdoc />
    public LockStatus Status => _lease.Status;

    /// <inheritdoc />
    public LockLostReason? LostReason => _lease.LostReason;

    internal Lease Lease => _lease;

    /// <inheritdoc />
    public void EnsureValid(TimeSpan minimumRemaining = default)
    {
        var status = _lease.Status;
        var remaining = _lease.RemainingValidity;
        if (status is LockStatus.Lost or LockStatus.Released || _lease.LostToken.IsCancellationRequested
            || remaining <= TimeSpan.Zero || remaining < minimumRemaining)
        {
            throw new LockLostException(Resource, status, _lease.LostReason, remaining, minimumRemaining);
        }
    }

    /// <inheritdoc />
    public async Task<bool> ExtendAsync(TimeSpan? expiry = null, CancellationToken cancellationToken = default)
    {
        using var activity = RedLockTelemetry.StartOperation("redlock.extend", Resource);
        try
        {
            var extended = await ExtendOnNodesAsync(expiry, activity, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(RedLockTags.Outcome, extended ? "extended" : "not_held");
            return extended;
        }
        catch (Exception ex) when (RedLockTelemetry.NoteFailure(activity, ex))
        {
            throw; // never reached: the filter only tags the span
        }
    }

    private async Task<bool> ExtendOnNodesAsync(TimeSpan? expiry, Activity? activity, CancellationToken cancellationToken)
    {
        var requested = expiry ?? _lease.Ttl;
        LockTiming.Checked(requested, _engine.Options, nameof(expiry));
        cancellationToken.ThrowIfCancellationRequested();
        if (!_lease.IsActive)
        {
            return false;
        }

        await _lease.ExtendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var ttl = _lease.NextTtl(requested);
            if (!_lease.IsActive || ttl < LockTiming.ShortestExpiry)
            {
                return false;
            }

            // the extension runs to its end even if the caller stops waiting, so the lease state stays exact
            var extension = await ExtendRound.RunAsync(_engine.Nodes, [new ExtendItem(_lease.Key, LockId, ttl)], _engine.Options.NodeTimeout, _engine.Timeouts)
                .ConfigureAwait(false);
            var outcome = LeaseRenewer.ApplyExtension(_lease, extension, 0, ttl, _engine.Logger);
            if (activity is not null)
            {
                var votes = extension.VerdictOf(0);
                RedLockTelemetry.TagVotes(activity, "redlock.extend", votes.Extended, votes.Refused, votes.Failed);
            }

            switch (outcome)
            {
                case ExtendOutcome.Extended:
                    _lease.UseTtl(requested);
                    return true;
                case ExtendOutcome.Refused:
                    return false;
                default:
                    var nodes = _engine.Nodes;
                    var late = extension.VerdictOf(0).Outcome == ExtendOutcome.Extended
                        ? "a majority confirmed it too late to leave the minimum validity, so it does not count; " : "";
                    throw new QuorumUnavailableException(Resource, "extend", nodes.Count, _engine.Majority, extension.Failures,
                        late + "the lock is still held until its current validity deadline unless a renewal succeeds");
            }
        }
        finally
        {
            _lease.ExtendGate.Release();
        }
    }

    /// <summary>Mints the token on the nodes (not cancellable once sent: the counters move either way).</summary>
    private async Task<long> MintAsync()
    {
        EnsureValid();
        var (token, refused, failures) = await FenceSettlement.MintAsync(_engine, _lease.Key, LockId, CancellationToken.None).ConfigureAwait(false);
        if (token is { } minted)
        {
            // handed out only while the lock is still valid here, as at acquisition
            EnsureValid();
            Interlocked.CompareExchange(ref _token, minted, 0);
            return Volatile.Read(ref _token);
        }

        if (refused)
        {
            throw new LockLostException(Resource, LockStatus.Lost, LockLostReason.Refused, TimeSpan.Zero, TimeSpan.Zero);
        }

        throw new QuorumUnavailableException(Resource, "mint a fencing token for", _engine.Nodes.Count, _engine.Majority, failures,
            "the lock may still be held; try again");
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.Exchange(ref _releasing, 1) != 0)
        {
            return;
        }

        // one async method (no inner one for the span): a release allocates one state machine, not two
        using var activity = RedLockTelemetry.StartOperation("redlock.release", Resource);
        try
        {
            _leases.Release(_lease);

            // once sent, the release goes on even if the caller stops waiting for it; it returns at a majority and
            // the other nodes are waited for (and a failure there logged) in the background
            var room = _lease.WakeOnRelease is { } waiters ? _engine.Rooms.WakeOnlyFor(waiters) : (Nodes.Scripts.WaitingRoom?)null;
            var (byMajority, round) = await Release.ReleaseAsync(_engine, _lease.Key, LockId, _lease.PendingGrants, null, OnReleaseDrained, this, room)
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            RedLockTelemetry.TagVotes(activity, "redlock.release", round.Quorum.Granted, round.Quorum.Denied, round.Quorum.Failed);
            if (!byMajority)
            {
                var nodes = _engine.Nodes;
                throw new QuorumUnavailableException(Resource, "release", nodes.Count, _engine.Majority, round.Failures,
                    $"only {round.Quorum.Granted} confirmed; keys left behind expire with their time to live");
            }

            _engine.Waiters.Released(Resource); // the next caller of this process in line tries now
            activity?.SetTag(RedLockTags.Outcome, "released");
        }
        catch (Exception ex) when (RedLockTelemetry.NoteFailure(activity, ex))
        {
            throw; // never reached: the filter only tags the span
        }
    }

    /// <summary>Every node answered or timed out: log a release some nodes did not confirm.</summary>
    private static void OnReleaseDrained(VoteRound round, object? state)
    {
        var handle = (RedLockHandle)state!;
        var logger = handle._engine.Logger;
        var failures = round.Failures;
        if (failures.Count == 0)
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                Log.Released(logger, handle.Resource, LockIds.Prefix(handle.LockId));
            }

            return;
        }

        RedLockTelemetry.RecordReleaseIncomplete();
        if (logger.IsEnabled(LogLevel.Warning))
        {
            Log.ReleaseIncomplete(logger, handle.Resource, LockIds.Prefix(handle.LockId), round.Quorum.Granted, round.Nodes.Count, string.Join("; ", failures));
        }
    }

    /// <summary>Releases; errors are logged, never thrown.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (RedLockException ex)
        {
            Log.DisposeReleaseFailed(_engine.Logger, Resource, LockIds.Prefix(LockId), ex);
        }
    }

    /// <summary>Raises <see cref="Lost"/> on the thread pool, so a slow handler cannot hold up renewals.</summary>
    internal void RaiseLost(LockLostReason reason)
    {
        var handlers = Lost;
        if (handlers is null)
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(
            state =>
            {
                try
                {
                    handlers(this, new LockLostEventArgs(Resource, state));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Log.LostHandlerFailed(_engine.Logger, Resource, ex);
                }
            },
            reason,
            preferLocal: false);
    }

    /// <inheritdoc />
    public override string ToString() => $"lock '{Resource}' ({LockIds.Prefix(LockId)}…, {Status})";
}
