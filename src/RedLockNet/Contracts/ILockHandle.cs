namespace RedLockNet;

/// <summary>
/// A held distributed lock. Dispose it (or call <see cref="ReleaseAsync"/>) to release it on every node;
/// a second release is a no-op.
/// </summary>
public interface ILockHandle : IAsyncDisposable
{
    /// <summary>The locked resource, as the caller named it.</summary>
    string Resource { get; }

    /// <summary>
    /// The random 128-bit id of this acquisition (32 hex digits). It is the capability to release the lock:
    /// do not log it whole.
    /// </summary>
    string LockId { get; }

    /// <summary>
    /// This holder's fencing token once one was minted (<see cref="GetFencingTokenAsync"/>, or at acquisition with
    /// <see cref="LockRequest.FencingOnAcquire"/>); <see langword="null"/> before. A missing token is null, never 0, so
    /// it cannot be mistaken for a real one.
    /// </summary>
    long? FencingToken { get; }

    /// <summary>
    /// The fencing token of this holding: a number strictly greater than the token of every earlier holder of this
    /// resource (under the conditions in the README), for the protected resource to refuse writes from stale holders:
    /// pass it with every write and have the resource reject tokens lower than the highest it has seen. Minted on the
    /// first call, at most one extra round trip, while this holder still holds the lock on a majority (each node
    /// raises its counter only where our lock key still stands); later calls return the same token at once.
    /// </summary>
    /// <exception cref="LockLostException">The lock is no longer held on a majority, or its validity ran out meanwhile: no token.</exception>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered; calling again may succeed.</exception>
    /// <exception cref="InvalidOperationException"><see cref="RedLockOptions.Fencing"/> is off.</exception>
    ValueTask<long> GetFencingTokenAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// How much longer this process may assume it holds the lock, measured on a monotonic clock from before the
    /// last confirmed acquisition or renewal's first send, already reduced by the drift allowance. Zero once expired,
    /// lost or released.
    /// </summary>
    TimeSpan RemainingValidity { get; }

    /// <summary>
    /// Fires the moment this process can no longer be sure it holds the lock: at the validity deadline less a
    /// safety margin (<see cref="RedLockOptions.LostTokenSafetyMargin"/>) unless a renewal confirmed by a majority
    /// has pushed the deadline out; at once when a majority refuses a renewal; at the hold-time cap. Never fires
    /// for a lock its owner released. Pass it to the work done under the lock.
    /// </summary>
    CancellationToken LostToken { get; }

    /// <summary>Where the lock stands: held, renewal undecided, lost, or released.</summary>
    LockStatus Status { get; }

    /// <summary>Why the lock was lost; null while it is not lost.</summary>
    LockLostReason? LostReason { get; }

    /// <summary>
    /// Raised once, on the thread pool, when the lock is lost (not when it is released). Handlers added after the
    /// loss are not called: check <see cref="Status"/> too.
    /// </summary>
    event EventHandler<LockLostEventArgs>? Lost;

    /// <summary>
    /// Throws <see cref="LockLostException"/> unless the lock is held with at least <paramref name="minimumRemaining"/>
    /// of validity left. Call it right before acting on the protected resource.
    /// </summary>
    void EnsureValid(TimeSpan minimumRemaining = default);

    /// <summary>
    /// Extends the lock on a majority to <paramref name="expiry"/> (default: its current expiry, which later renewals
    /// then use too). Same quorum and validity rules as acquisition; an expired key is never re-created.
    /// Returns false when the lock is no longer held (released, lost, or refused by a majority).
    /// </summary>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered; the lock stays held until its current deadline unless a renewal succeeds.</exception>
    Task<bool> ExtendAsync(TimeSpan? expiry = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Releases the lock on every node (compare-and-delete: only keys still holding <see cref="LockId"/> are removed).
    /// Returns once a majority confirmed; the other nodes are released in the background (bounded by the node timeout;
    /// a failure there is logged and counted in <c>redlock.release.incomplete</c>). Throws
    /// <see cref="QuorumUnavailableException"/> when a majority cannot confirm it; the remaining keys then expire with
    /// their time to live.
    /// </summary>
    ValueTask ReleaseAsync(CancellationToken cancellationToken = default);
}
