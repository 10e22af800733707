namespace RedLockNet;

/// <summary>Creates distributed locks on named resources.</summary>
public interface IDistributedLockFactory
{
    /// <summary>
    /// Acquires the lock on <paramref name="resource"/>, waiting while others hold it for at most the wait timeout
    /// (<see cref="LockRequest.WaitTimeout"/>, else <see cref="RedLockOptions.WaitTimeout"/>).
    /// </summary>
    /// <exception cref="LockTimeoutException">The lock stayed held by others for the whole wait.</exception>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered for the whole wait.</exception>
    /// <exception cref="ArgumentException">The resource or the request breaks a rule; nothing was sent.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; nothing is left behind on the nodes.</exception>
    Task<ILockHandle> AcquireAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Tries to acquire the lock on <paramref name="resource"/>; returns <see langword="null"/> when it is held by others
    /// (at once, unless <see cref="LockRequest.WaitTimeout"/> asks to wait).
    /// </summary>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered.</exception>
    /// <exception cref="ArgumentException">The resource or the request breaks a rule; nothing was sent.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; nothing is left behind on the nodes.</exception>
    Task<ILockHandle?> TryAcquireAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default);
}

/// <summary>Shorter overloads of <see cref="IDistributedLockFactory"/>.</summary>
public static class DistributedLockFactoryExtensions
{
    /// <summary>Acquires the lock with the default expiry and wait timeout.</summary>
    public static Task<ILockHandle> AcquireAsync(this IDistributedLockFactory factory, string resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory.AcquireAsync(resource, null, cancellationToken);
    }

    /// <summary>Acquires the lock with the given expiry and the default wait timeout.</summary>
    public static Task<ILockHandle> AcquireAsync(this IDistributedLockFactory factory, string resource, TimeSpan expiry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory.AcquireAsync(resource, new LockRequest { Expiry = expiry }, cancellationToken);
    }

    /// <summary>Tries the lock once with the default expiry; <see langword="null"/> when others hold it.</summary>
    public static Task<ILockHandle?> TryAcquireAsync(this IDistributedLockFactory factory, string resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory.TryAcquireAsync(resource, null, cancellationToken);
    }
}
