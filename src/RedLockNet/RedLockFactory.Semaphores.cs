using RedLockNet.Engine;
using RedLockNet.Engine.Leases;

namespace RedLockNet;

/// <summary>The semaphore entry points of <see cref="RedLockFactory"/>.</summary>
public sealed partial class RedLockFactory : ISemaphoreFactory
{
    /// <summary>The most permits a semaphore may have: each attempt reads every slot on every node.</summary>
    public const int MaxSemaphoreCount = 1024;

    /// <inheritdoc />
    public async Task<ISemaphoreHandle> AcquireSemaphoreAsync(string resource, int maxCount, LockRequest? request = null, CancellationToken cancellationToken = default)
    {
        var wait = LockRequest.CheckWait(request?.WaitTimeout ?? _options.WaitTimeout, "request.WaitTimeout");
        var (attempt, slot) = await AcquireSemaphoreCoreAsync(resource, maxCount, request, wait, cancellationToken).ConfigureAwait(false);
        return attempt.Grant is { } grant ? new SemaphoreHandle(_leases.Open(grant, request), maxCount, slot) : throw Failure(resource, attempt, wait);
    }

    /// <inheritdoc />
    public async Task<ISemaphoreHandle?> TryAcquireSemaphoreAsync(string resource, int maxCount, LockRequest? request = null, CancellationToken cancellationToken = default)
    {
        var wait = LockRequest.CheckWait(request?.WaitTimeout ?? TimeSpan.Zero, "request.WaitTimeout");
        var (attempt, slot) = await AcquireSemaphoreCoreAsync(resource, maxCount, request, wait, cancellationToken).ConfigureAwait(false);
        return attempt.Outcome switch
        {
            AcquireOutcome.Acquired => new SemaphoreHandle(_leases.Open(attempt.Grant!, request), maxCount, slot),
            AcquireOutcome.Contended => null,
            _ => throw Failure(resource, attempt, wait),
        };
    }

    private async Task<(AcquireAttempt Attempt, int Slot)> AcquireSemaphoreCoreAsync(string resource, int maxCount, LockRequest? request, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (maxCount is < 1 or > MaxSemaphoreCount)
        {
            throw new ArgumentOutOfRangeException(nameof(maxCount), maxCount, $"A semaphore has from 1 to {MaxSemaphoreCount} permits.");
        }

        var slot = -1;
        var slots = LockKeys.SemaphoreSlotsFor(LockKeys.For(_options.KeyPrefix, resource), maxCount);
        var plan = new WaitPlan(
            LocalWaiters.LineKind.Semaphore,
            async (engine, name, key, timing, mintToken, ticket, ct) =>
            {
                (var once, slot) = await SemaphoreAcquisition.AcquireOnceAsync(engine, name, key, slots, maxCount, timing, mintToken, ct, ticket).ConfigureAwait(false);
                return once;
            },
            Tickets: maxCount <= SemaphoreAcquisition.MaxCountWithWaitingRooms,
            Slots: slots);
        var attempt = await AcquireCoreAsync(resource, request, wait, "redlock.semaphore.acquire", plan, cancellationToken).ConfigureAwait(false);
        return (attempt, slot);
    }
}
