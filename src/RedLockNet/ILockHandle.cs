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

    /// <summary>Strictly increasing token per resource, for the protected resource to refuse stale holders. 0 while fencing is not enabled.</summary>
    long FencingToken { get; }

    /// <summary>
    /// How much longer this process may safely assume it holds the lock, measured on a monotonic clock from
    /// before the acquisition's first send and already reduced by the drift allowance. Zero once expired or released.
    /// </summary>
    TimeSpan RemainingValidity { get; }

    /// <summary>
    /// Releases the lock on every node (compare-and-delete: only keys still holding <see cref="LockId"/> are removed).
    /// Throws <see cref="QuorumUnavailableException"/> when fewer than a majority of nodes confirmed the release;
    /// the remaining keys then expire with their time to live.
    /// </summary>
    ValueTask ReleaseAsync(CancellationToken cancellationToken = default);
}
