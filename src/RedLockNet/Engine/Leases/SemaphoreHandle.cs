namespace RedLockNet.Engine.Leases;

/// <summary>A permit: the lock on one slot of a semaphore (<see cref="SemaphoreAcquisition"/>), with its place.</summary>
internal sealed class SemaphoreHandle(ILockHandle slotLock, int maxCount, int slot) : ISemaphoreHandle
{
    public int MaxCount { get; } = maxCount;

    public int Slot { get; } = slot;

    public string Resource => slotLock.Resource;

    public string LockId => slotLock.LockId;

    public long? FencingToken => slotLock.FencingToken;

    public TimeSpan RemainingValidity => slotLock.RemainingValidity;

    public CancellationToken LostToken => slotLock.LostToken;

    public LockStatus Status => slotLock.Status;

    public LockLostReason? LostReason => slotLock.LostReason;

    public event EventHandler<LockLostEventArgs>? Lost
    {
        add => slotLock.Lost += value;
        remove => slotLock.Lost -= value;
    }

    public ValueTask<long> GetFencingTokenAsync(CancellationToken cancellationToken = default) => slotLock.GetFencingTokenAsync(cancellationToken);

    public void EnsureValid(TimeSpan minimumRemaining = default) => slotLock.EnsureValid(minimumRemaining);

    public Task<bool> ExtendAsync(TimeSpan? expiry = null, CancellationToken cancellationToken = default) => slotLock.ExtendAsync(expiry, cancellationToken);

    public ValueTask ReleaseAsync(CancellationToken cancellationToken = default) => slotLock.ReleaseAsync(cancellationToken);

    public ValueTask DisposeAsync() => slotLock.DisposeAsync();

    public override string ToString() => $"permit {Slot} of {MaxCount} of '{Resource}'";
}
