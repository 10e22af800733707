namespace RedLockNet;

/// <summary>
/// Locks on several resources at once, all or nothing. When the resources' keys share one Redis Cluster hash slot
/// (names that start with the same <c>{tag}</c>, such as <c>{account}:1</c> and <c>{account}:2</c>), the first attempt
/// takes them all in one round trip per node: each node grants all of them or none. Otherwise, and when that attempt
/// finds one held and the caller may wait, the locks are taken one after the other in ordinal order of their names,
/// whatever order the caller gave: every caller takes any two resources in the same order, so two callers can never
/// each hold one and wait for the other (no deadlock). A failure releases whatever was taken before the call returns.
/// Each resource gets its own lock, renewal and fencing token.
/// </summary>
public interface IMultiLockFactory
{
    /// <summary>
    /// Acquires the locks on every resource in <paramref name="resources"/>, waiting at most the request's wait timeout
    /// in all (without one, the factory's); on failure none is left held.
    /// </summary>
    /// <exception cref="LockTimeoutException">A resource stayed held by others until the wait was spent.</exception>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered for one of them.</exception>
    /// <exception cref="ArgumentException">The list is empty, names a resource twice, or a resource or the request breaks a rule; nothing was sent.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; none is left held.</exception>
    Task<MultiLockHandle> AcquireAllAsync(IReadOnlyList<string> resources, LockRequest? request = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Tries the locks on every resource; <see langword="null"/> (with none left held) when one is held by others (at
    /// once, unless the request asks to wait).
    /// </summary>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered for one of them.</exception>
    /// <exception cref="ArgumentException">As for <see cref="AcquireAllAsync"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; none is left held.</exception>
    Task<MultiLockHandle?> TryAcquireAllAsync(IReadOnlyList<string> resources, LockRequest? request = null, CancellationToken cancellationToken = default);
}
