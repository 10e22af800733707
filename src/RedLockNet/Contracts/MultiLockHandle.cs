namespace RedLockNet;

/// <summary>
/// Locks held together (<see cref="IMultiLockFactory.AcquireAllAsync"/>): each renews as its request asked, and
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
            // each release is bounded by the node timeout; a lock that cannot be released expires with its time to live
            await Task.WhenAll(Locks.Select(h => h.ReleaseAsync(cancellationToken).AsTask())).ConfigureAwait(false);
            _lost.Dispose();
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ReleaseAsync(CancellationToken.None);
}
