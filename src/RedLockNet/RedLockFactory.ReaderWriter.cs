using RedLockNet.Engine;

namespace RedLockNet;

/// <summary>The reader-writer entry points of <see cref="RedLockFactory"/>.</summary>
public sealed partial class RedLockFactory : IReaderWriterLockFactory
{
    /// <inheritdoc />
    public Task<ILockHandle> AcquireReadAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        AcquirePolledAsync(resource, request, ReaderWriterAcquisition.ReadOnceAsync, cancellationToken);

    /// <inheritdoc />
    public Task<ILockHandle?> TryAcquireReadAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        TryAcquirePolledAsync(resource, request, ReaderWriterAcquisition.ReadOnceAsync, cancellationToken);

    /// <inheritdoc />
    public Task<ILockHandle> AcquireWriteAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        AcquirePolledAsync(resource, request, ReaderWriterAcquisition.WriteOnceAsync, cancellationToken);

    /// <inheritdoc />
    public Task<ILockHandle?> TryAcquireWriteAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        TryAcquirePolledAsync(resource, request, ReaderWriterAcquisition.WriteOnceAsync, cancellationToken);

    private async Task<ILockHandle> AcquirePolledAsync(string resource, LockRequest? request, PolledAttempt once, CancellationToken cancellationToken)
    {
        var wait = LockRequest.CheckWait(request?.WaitTimeout ?? _options.WaitTimeout, "request.WaitTimeout");
        var attempt = await PollAsync(resource, request, wait, "redlock.rw.acquire", once, cancellationToken).ConfigureAwait(false);
        return attempt.Grant is { } grant ? _leases.Open(grant, request) : throw Failure(resource, attempt, wait);
    }

    private async Task<ILockHandle?> TryAcquirePolledAsync(string resource, LockRequest? request, PolledAttempt once, CancellationToken cancellationToken)
    {
        var wait = LockRequest.CheckWait(request?.WaitTimeout ?? TimeSpan.Zero, "request.WaitTimeout");
        var attempt = await PollAsync(resource, request, wait, "redlock.rw.acquire", once, cancellationToken).ConfigureAwait(false);
        return attempt.Outcome switch
        {
            AcquireOutcome.Acquired => _leases.Open(attempt.Grant!, request),
            AcquireOutcome.Contended => null,
            _ => throw Failure(resource, attempt, wait),
        };
    }
}
