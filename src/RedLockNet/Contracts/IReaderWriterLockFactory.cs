namespace RedLockNet;

/// <summary>
/// Creates distributed reader-writer locks: many readers or one writer of a resource at a time, across every client
/// and every node. A waiting writer is preferred: readers arriving while it waits are held back, so a stream of
/// readers cannot starve it. Both kinds of handle renew, report loss and release like a lock; the writer's
/// <see cref="ILockHandle.GetFencingTokenAsync"/> orders writers.
/// </summary>
public interface IReaderWriterLockFactory
{
    /// <summary>Acquires a read lock on <paramref name="resource"/>, waiting while a writer holds or waits for it, for at most the wait timeout.</summary>
    /// <exception cref="LockTimeoutException">A writer held or waited for the lock for the whole wait.</exception>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered for the whole wait.</exception>
    /// <exception cref="ArgumentException">The resource or the request breaks a rule; nothing was sent.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; nothing is left behind on the nodes.</exception>
    Task<ILockHandle> AcquireReadAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default);

    /// <summary>Tries a read lock; <see langword="null"/> while a writer holds or waits for it (at once, unless the request asks to wait).</summary>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered.</exception>
    /// <exception cref="ArgumentException">The resource or the request breaks a rule; nothing was sent.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; nothing is left behind on the nodes.</exception>
    Task<ILockHandle?> TryAcquireReadAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default);

    /// <summary>Acquires the write lock on <paramref name="resource"/>, waiting while readers or another writer hold it, for at most the wait timeout.</summary>
    /// <exception cref="LockTimeoutException">Readers or another writer held it for the whole wait.</exception>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered for the whole wait.</exception>
    /// <exception cref="ArgumentException">The resource or the request breaks a rule; nothing was sent.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; nothing is left behind on the nodes.</exception>
    Task<ILockHandle> AcquireWriteAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default);

    /// <summary>Tries the write lock; <see langword="null"/> while readers or another writer hold it (at once, unless the request asks to wait).</summary>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered.</exception>
    /// <exception cref="ArgumentException">The resource or the request breaks a rule; nothing was sent.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; nothing is left behind on the nodes.</exception>
    Task<ILockHandle?> TryAcquireWriteAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default);
}
