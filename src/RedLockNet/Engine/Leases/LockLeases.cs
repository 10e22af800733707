using Microsoft.Extensions.Logging;
using RedLockNet.Engine;
using RedLockNet.Diagnostics;

namespace RedLockNet.Engine.Leases;

/// <summary>Turns granted locks into handles with leases, and ends leases: renewal on or off, loss reporting, release.</summary>
internal sealed class LockLeases : IAsyncDisposable
{
    private readonly EngineContext _engine;
    private readonly RedLockOptions _options;

    public LockLeases(EngineContext engine, RedLockOptions options)
    {
        _engine = engine;
        _options = options;
        Renewer = new LeaseRenewer(engine, options);
    }

    public LeaseRenewer Renewer { get; }

    public RedLockHandle Open(LockGrant grant, LockRequest? request)
    {
        var autoRenew = request?.AutoRenew ?? _options.AutoRenew;
        var cap = request?.MaxHoldTime ?? _options.MaxHoldTime;
        var validity = grant.Timing;
        var lease = new Lease(grant.Resource, grant.Key, grant.LockId, grant.Timing.Expiry, grant.Start, grant.ValidUntil,
            autoRenew, cap, validity.SafetyMargin, _options, OnLost)
        {
            GrantedAt = grant.DecidedAt,
            PendingGrants = grant.Calls,
            WakeOnRelease = grant.WakeOnRelease,
        };
        var handle = new RedLockHandle(_engine, this, lease, grant.FencingToken);
        lease.Owner = new WeakReference<RedLockHandle>(handle);
        if (autoRenew)
        {
            Renewer.Track(lease);
        }

        lease.Start();
        return handle;
    }

    /// <summary>The owner released the lock: stop renewing it; its lost token will not fire.</summary>
    public void Release(Lease lease)
    {
        if (lease.Release() && lease.AutoRenew)
        {
            Renewer.Untrack(lease);
        }
    }

    public ValueTask DisposeAsync() => Renewer.DisposeAsync();

    private void OnLost(Lease lease, LockLostReason reason)
    {
        if (lease.AutoRenew)
        {
            Renewer.Untrack(lease);
        }

        RedLockTelemetry.RecordLost(reason);
        if (_engine.Logger.IsEnabled(LogLevel.Warning))
        {
            Log.LockLost(_engine.Logger, lease.Resource, LockIds.Prefix(lease.LockId), reason);
        }

        if (lease.Owner is { } owner && owner.TryGetTarget(out var handle))
        {
            handle.RaiseLost(reason);
        }
    }
}
