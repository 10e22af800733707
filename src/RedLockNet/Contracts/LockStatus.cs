namespace RedLockNet;

/// <summary>Where a held lock stands, as far as this process can tell.</summary>
public enum LockStatus
{
    /// <summary>Acquired, and the last renewal (if any) reached a majority.</summary>
    Held,

    /// <summary>The last renewal did not reach a decision (nodes down or slow); still held until the validity deadline unless a renewal succeeds.</summary>
    Renewing,

    /// <summary>This process can no longer be sure it holds the lock; <see cref="ILockHandle.LostToken"/> has fired.</summary>
    Lost,

    /// <summary>Released by its owner (<see cref="ILockHandle.ReleaseAsync"/> or dispose).</summary>
    Released,
}

/// <summary>Why a lock was lost.</summary>
public enum LockLostReason
{
    /// <summary>A majority of nodes refused a renewal: the key is gone or held by another owner there.</summary>
    Refused,

    /// <summary>No renewal was confirmed by a majority before the validity deadline (nodes down, paused or slow).</summary>
    RenewalTimedOut,

    /// <summary>Auto-renewal was off and the validity ran out.</summary>
    Expired,

    /// <summary>The lock reached its <see cref="LockRequest.MaxHoldTime"/>.</summary>
    HoldTimeCapReached,
}

/// <summary>Data of <see cref="ILockHandle.Lost"/>.</summary>
public sealed class LockLostEventArgs(string resource, LockLostReason reason) : EventArgs
{
    /// <summary>The resource of the lost lock.</summary>
    public string Resource { get; } = resource;

    /// <summary>Why it was lost.</summary>
    public LockLostReason Reason { get; } = reason;
}
