using RedLockNet.Engine;

namespace RedLockNet;

/// <summary>The reader-writer entry points of <see cref="RedLockFactory"/>.</summary>
public sealed partial class RedLockFactory : IReaderWriterLockFactory
{
    /// <inheritdoc />
    public Task<ILockHandle> AcquireReadAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        AcquireLinedAsync(resource, request, ReadOnceAsync, cancellationToken);

    /// <inheritdoc />
    public Task<ILockHandle?> TryAcquireReadAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        TryAcquireLinedAsync(resource, request, ReadOnceAsync, cancellationToken);

    /// <inheritdoc />
    public Task<ILockHandle> AcquireWriteAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        AcquireLinedAsync(resource, request, WriteOnceAsync, cancellationToken);

    /// <inheritdoc />
    public Task<ILockHandle?> TryAcquireWriteAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        TryAcquireLinedAsync(resource, request, WriteOnceAsync, cancellationToken);

    private static readonly PrimitiveAttempt ReadOnceAsync = static (engine, resource, key, timing, _, ct) => ReaderWriterAcquisition.ReadOnceAsync(engine, resource, key, timing, ct);

    private static readonly PrimitiveAttempt WriteOnceAsync = static (engine, resource, key, timing, _, ct) => ReaderWriterAcquisition.WriteOnceAsync(engine, resource, key, timing, ct);

    private async Task<ILockHandle> AcquireLinedAsync(string resource, LockRequest? request, PrimitiveAttempt once, CancellationToken cancellationToken)
    {
        var wait = LockRequest.CheckWait(request?.WaitTimeout ?? _options.WaitTimeout, "request.WaitTimeout");
        var attempt = await AcquirePrimitiveAsync(resource, request, wait, "redlock.rw.acquire", LocalWaiters.LineKind.ReaderWriter, once, returnTicket: null, cancellationToken).ConfigureAwait(false);
        return attempt.Grant is { } grant ? _leases.Open(grant, request) : throw Failure(resource, attempt, wait);
    }

    private async Task<ILockHandle?> TryAcquireLinedAsync(string resource, LockRequest? request, PrimitiveAttempt once, CancellationToken cancellationToken)
    {
        var wait = LockRequest.CheckWait(request?.WaitTimeout ?? TimeSpan.Zero, "request.WaitTimeout");
        var attempt = await AcquirePrimitiveAsync(resource, request, wait, "redlock.rw.acquire", LocalWaiters.LineKind.ReaderWriter, once, returnTicket: null, cancellationToken).ConfigureAwait(false);
        return attempt.Outcome switch
        {
            AcquireOutcome.Acquired => _leases.Open(attempt.Grant!, request),
            AcquireOutcome.Contended => null,
            _ => throw Failure(resource, attempt, wait),
        };
    }
}
