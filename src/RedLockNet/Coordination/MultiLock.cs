namespace RedLockNet;

/// <summary>
/// Locks on several resources at once, all or nothing (<c>AcquireAllAsync</c>). The locks are taken one after the
/// other in ordinal order of their names, whatever order the caller gave: every caller takes any two resources in the
/// same order, so two callers can never each hold one and wait for the other (no deadlock). A failure on one releases
/// those already held before the call returns.
/// </summary>
public static class MultiLockExtensions
{
    /// <summary>
    /// Acquires the locks on every resource in <paramref name="resources"/>, waiting at most the request's wait timeout
    /// in all (without one, each lock waits the factory's); on failure none is left held.
    /// </summary>
    /// <exception cref="LockTimeoutException">A resource stayed held by others until the wait was spent.</exception>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered for one of them.</exception>
    /// <exception cref="ArgumentException">The list is empty, names a resource twice, or a resource or the request breaks a rule; nothing was sent.</exception>
    public static async Task<MultiLockHandle> AcquireAllAsync(this ILockFactoryWithRecords factory, IReadOnlyList<string> resources, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        (await AcquireAllCoreAsync(factory, resources, request, waits: true, cancellationToken).ConfigureAwait(false))!;

    /// <summary>
    /// Tries the locks on every resource; <see langword="null"/> (with none left held) when one is held by others (at
    /// once, unless the request asks to wait).
    /// </summary>
    /// <exception cref="QuorumUnavailableException">Too few nodes answered for one of them.</exception>
    /// <exception cref="ArgumentException">As for <see cref="AcquireAllAsync"/>.</exception>
    public static Task<MultiLockHandle?> TryAcquireAllAsync(this ILockFactoryWithRecords factory, IReadOnlyList<string> resources, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        AcquireAllCoreAsync(factory, resources, request, waits: false, cancellationToken);

    /// <summary>
    /// Takes the locks in order: <see cref="IDistributedLockFactory.AcquireAsync"/> each when <paramref name="waits"/>
    /// (its failure is thrown), else <see cref="IDistributedLockFactory.TryAcquireAsync"/> (null when one is held by
    /// others). Whatever is held when it fails is released before it returns.
    /// </summary>
    private static async Task<MultiLockHandle?> AcquireAllCoreAsync(ILockFactoryWithRecords factory, IReadOnlyList<string> resources, LockRequest? request, bool waits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var ordered = Ordered(resources);
        var held = new List<ILockHandle>(ordered.Length);
        var started = factory.TimeProvider.GetTimestamp();
        try
        {
            foreach (var resource in ordered)
            {
                var next = RemainingWait(request, factory.TimeProvider, started);
                var handle = waits
                    ? await factory.AcquireAsync(resource, next, cancellationToken).ConfigureAwait(false)
                    : await factory.TryAcquireAsync(resource, next, cancellationToken).ConfigureAwait(false);
                if (handle is null)
                {
                    await ReleaseAllAsync(held, CancellationToken.None).ConfigureAwait(false);
                    return null;
                }

                held.Add(handle);
            }
        }
        catch
        {
            await ReleaseAllAsync(held, CancellationToken.None).ConfigureAwait(false); // cleanup: not cut short by the caller
            throw;
        }

        return new MultiLockHandle(resources, held);
    }

    /// <summary>The resources in the order every caller takes them, after checking the list.</summary>
    private static string[] Ordered(IReadOnlyList<string> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        if (resources.Count == 0)
        {
            throw new ArgumentException("At least one resource is required.", nameof(resources));
        }

        for (var i = 0; i < resources.Count; i++)
        {
            LockResources.Validate(resources[i], nameof(resources));
        }

        var ordered = resources.Order(StringComparer.Ordinal).ToArray();
        for (var i = 1; i < ordered.Length; i++)
        {
            if (string.Equals(ordered[i], ordered[i - 1], StringComparison.Ordinal))
            {
                throw new ArgumentException($"'{ordered[i]}' is listed twice; each resource is locked once.", nameof(resources));
            }
        }

        return ordered;
    }

    /// <summary>The request for the next lock: the wait asked for, less what the earlier locks took (null: the factory's).</summary>
    private static LockRequest? RemainingWait(LockRequest? request, TimeProvider time, long started)
    {
        if (request?.WaitTimeout is not { } wait || wait == Timeout.InfiniteTimeSpan)
        {
            return request;
        }

        var left = wait - time.GetElapsedTime(started);
        return request with { WaitTimeout = left > TimeSpan.Zero ? left : TimeSpan.Zero };
    }

    internal static async Task ReleaseAllAsync(IEnumerable<ILockHandle> held, CancellationToken cancellationToken = default)
    {
        // each release is bounded by the node timeout; a lock that cannot be released expires with its time to live
        await Task.WhenAll(held.Select(h => h.ReleaseAsync(cancellationToken).AsTask())).ConfigureAwait(false);
    }
}

/// <summary>
/// Locks held together (<see cref="MultiLockExtensions.AcquireAllAsync"/>): each renews as its request asked, and
/// disposing this releases them all.
/// </summary>
public sealed class MultiLockHandle : IAsyncDisposable
{
    private readonly CancellationTokenSource _lost;
    private int _released;

    internal MultiLockHandle(IReadOnlyList<string> resources, IReadOnlyList<ILockHandle> held)
    {
        var byName = held.ToDictionary(h => h.Resource, StringComparer.Ordinal);
        Locks = [.. resources.Select(r => byName[r])];
        _lost = CancellationTokenSource.CreateLinkedTokenSource([.. held.Select(h => h.LostToken)]);
        LostToken = _lost.Token; // kept: still readable after the release disposed the source
    }

    /// <summary>The locks, in the order the resources were given; each has its own fencing token.</summary>
    public IReadOnlyList<ILockHandle> Locks { get; }

    /// <summary>Fires as soon as any of the locks is lost (as <see cref="ILockHandle.LostToken"/>: never for a release).</summary>
    public CancellationToken LostToken { get; }

    /// <summary>The least validity left among the locks.</summary>
    public TimeSpan RemainingValidity => Locks.Min(l => l.RemainingValidity);

    /// <summary>Throws <see cref="LockLostException"/> unless every lock is still held with at least <paramref name="minimumRemaining"/> left.</summary>
    public void EnsureValid(TimeSpan minimumRemaining = default)
    {
        foreach (var held in Locks)
        {
            held.EnsureValid(minimumRemaining);
        }
    }

    /// <summary>Releases every lock (in parallel); a second call does nothing.</summary>
    public async ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            await MultiLockExtensions.ReleaseAllAsync(Locks, cancellationToken).ConfigureAwait(false);
            _lost.Dispose();
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ReleaseAsync(CancellationToken.None);
}
