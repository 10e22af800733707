using RedLockNet.Algorithm;
using RedLockNet.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RedLockNet;

/// <summary>A lock held on a majority of nodes.</summary>
internal sealed class RedLockHandle : ILockHandle
{
    private readonly Redlock _redlock;
    private readonly RedisKey _key;
    private long _validUntil;
    private int _released;

    public RedLockHandle(Redlock redlock, string resource, RedisKey key, string lockId, long validUntil, long fencingToken)
    {
        _redlock = redlock;
        _key = key;
        _validUntil = validUntil;
        Resource = resource;
        LockId = lockId;
        FencingToken = fencingToken;
    }

    /// <inheritdoc />
    public string Resource { get; }

    /// <inheritdoc />
    public string LockId { get; }

    /// <inheritdoc />
    public long FencingToken { get; }

    /// <inheritdoc />
    public TimeSpan RemainingValidity
    {
        get
        {
            if (Volatile.Read(ref _released) != 0)
            {
                return TimeSpan.Zero;
            }

            var time = _redlock.Time;
            var now = time.GetTimestamp();
            var until = Volatile.Read(ref _validUntil);
            return now >= until ? TimeSpan.Zero : time.GetElapsedTime(now, until);
        }
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        // once sent, the release goes on even if the caller stops waiting for it
        var (confirmed, failures) = await _redlock.ReleaseAsync(_key, LockId).WaitAsync(cancellationToken).ConfigureAwait(false);
        var nodes = _redlock.Nodes;
        if (failures.Count == 0)
        {
            if (_redlock.Logger.IsEnabled(LogLevel.Debug))
            {
                Log.Released(_redlock.Logger, Resource, LockIds.Prefix(LockId));
            }

            return;
        }

        RedLockTelemetry.RecordReleaseIncomplete();
        Log.ReleaseIncomplete(_redlock.Logger, Resource, LockIds.Prefix(LockId), confirmed, nodes.Count, string.Join("; ", failures));
        if (confirmed < nodes.Majority)
        {
            throw new QuorumUnavailableException(Resource, "release", nodes.Count, nodes.Majority, failures,
                $"only {confirmed} confirmed; keys left behind expire with their time to live");
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
            Log.DisposeReleaseFailed(_redlock.Logger, Resource, LockIds.Prefix(LockId), ex);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"lock '{Resource}' ({LockIds.Prefix(LockId)}…)";
}
