namespace RedLockNet;

/// <summary>
/// Creates distributed semaphores: at most <c>maxCount</c> holders of one resource at a time, across every client and
/// every node. Each permit is a slot that is a Redlock lock of its own, so the bound holds by the lock's own argument
/// (it does not count holders per node, which would not bound them across nodes).
/// </summary>
public interface ISemaphoreFactory
{
    /// <summary>
    /// Acquires one of the <paramref name="maxCount"/> permits of <paramref name="resource"/>, waiting while all are held
    /// for at most the wait timeout (<see cref="LockRequest.WaitTimeout"/>, else <see cref="RedLockOptions.WaitTimeout"/>).
    /// The permit renews, reports loss and is released like a lock.
    /// </summary>
    /// <exception cref="LockTimeoutException">Every permit stayed held by others for the whole wait.</exception>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered for the whole wait.</exception>
    /// <exception cref="ArgumentException">The resource, <paramref name="maxCount"/> or the request breaks a rule, another
    /// client uses the resource with another count, or it is held as a plain lock; nothing was left behind.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; nothing is left behind on the nodes.</exception>
    Task<ISemaphoreHandle> AcquireSemaphoreAsync(string resource, int maxCount, LockRequest? request = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Tries to acquire a permit of <paramref name="resource"/>; returns <see langword="null"/> when all
    /// <paramref name="maxCount"/> are held (at once, unless <see cref="LockRequest.WaitTimeout"/> asks to wait).
    /// </summary>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered.</exception>
    /// <exception cref="ArgumentException">As for <see cref="AcquireSemaphoreAsync"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; nothing is left behind on the nodes.</exception>
    Task<ISemaphoreHandle?> TryAcquireSemaphoreAsync(string resource, int maxCount, LockRequest? request = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// A held permit of a distributed semaphore: a lock on one of its slots. <see cref="ILockHandle.FencingToken"/> orders
/// the holders of this slot (not of the whole semaphore: two permits are held at once by design).
/// </summary>
public interface ISemaphoreHandle : ILockHandle
{
    /// <summary>How many permits the semaphore has.</summary>
    int MaxCount { get; }

    /// <summary>Which permit (slot) this is, from 0 to <see cref="MaxCount"/> - 1.</summary>
    int Slot { get; }
}
