using RedLockNet.Engine;

namespace RedLockNet;

/// <summary>The reader-writer entry points of <see cref="RedLockFactory"/>.</summary>
public sealed partial class RedLockFactory : IReaderWriterLockFactory
{
    /// <inheritdoc />
    public Task<ILockHandle> AcquireReadAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        AcquireHandleAsync(resource, request, "redlock.rw.acquire", ReadPlan, cancellationToken);

    /// <inheritdoc />
    public Task<ILockHandle?> TryAcquireReadAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        TryAcquireHandleAsync(resource, request, "redlock.rw.acquire", ReadPlan, cancellationToken);

    /// <inheritdoc />
    public Task<ILockHandle> AcquireWriteAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        AcquireHandleAsync(resource, request, "redlock.rw.acquire", WritePlan, cancellationToken);

    /// <inheritdoc />
    public Task<ILockHandle?> TryAcquireWriteAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        TryAcquireHandleAsync(resource, request, "redlock.rw.acquire", WritePlan, cancellationToken);

    /// <summary>A reader's plan: the reader-writer line, and once refused a ticket in the lock's room, which wakes it at a release.</summary>
    private static readonly WaitPlan ReadPlan = new(
        LocalWaiters.LineKind.ReaderWriter, static (engine, resource, key, timing, _, ticket, ct) => ReaderWriterAcquisition.ReadOnceAsync(engine, resource, key, timing, ticket, ct), Tickets: true, RoomKeyOf: ReaderWriterAcquisition.RoomKeyOf);

    /// <summary>A writer's plan: as a reader's.</summary>
    private static readonly WaitPlan WritePlan = ReadPlan with
    {
        Once = static (engine, resource, key, timing, _, ticket, ct) => ReaderWriterAcquisition.WriteOnceAsync(engine, resource, key, timing, ticket, ct),
    };
}
