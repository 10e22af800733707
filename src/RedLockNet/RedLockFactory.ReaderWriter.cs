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

    private static readonly WaitPlan ReadPlan = new(
        LocalWaiters.LineKind.ReaderWriter, static (engine, resource, key, timing, _, _, ct) => ReaderWriterAcquisition.ReadOnceAsync(engine, resource, key, timing, ct), Tickets: false);

    private static readonly WaitPlan WritePlan = new(
        LocalWaiters.LineKind.ReaderWriter, static (engine, resource, key, timing, _, _, ct) => ReaderWriterAcquisition.WriteOnceAsync(engine, resource, key, timing, ct), Tickets: false);
}
