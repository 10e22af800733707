using System.Diagnostics;
using RedLockNet.Diagnostics;
using RedLockNet.Engine;
using RedLockNet.Engine.Leases;
using RedLockNet.Timing;
using StackExchange.Redis;

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

    /// <summary>One attempt of a primitive's acquisition (a semaphore's, a reader's or a writer's); a waiting semaphore caller passes its ticket.</summary>
    private delegate Task<AcquireAttempt> PrimitiveAttempt(EngineContext engine, string resource, RedisKey lockKey, LockTiming timing, WaitingRooms.Ticket? ticket, CancellationToken cancellationToken);

    private async Task<(AcquireAttempt Attempt, int Slot)> AcquireSemaphoreCoreAsync(string resource, int maxCount, LockRequest? request, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (maxCount is < 1 or > MaxSemaphoreCount)
        {
            throw new ArgumentOutOfRangeException(nameof(maxCount), maxCount, $"A semaphore has from 1 to {MaxSemaphoreCount} permits.");
        }

        var slot = -1;
        var slots = LockKeys.SemaphoreSlotsFor(LockKeys.For(_options.KeyPrefix, resource), maxCount);
        var attempt = await AcquirePrimitiveAsync(resource, request, wait, "redlock.semaphore.acquire", LocalWaiters.LineKind.Semaphore, async (engine, name, key, timing, ticket, ct) =>
            {
                (var once, slot) = await SemaphoreAcquisition.AcquireOnceAsync(engine, name, key, slots, maxCount, timing, MintsToken(request), ct, ticket).ConfigureAwait(false);
                return once;
            },
            maxCount <= SemaphoreAcquisition.MaxCountWithWaitingRooms ? ticket => _engine.Rooms.Return(_engine, slots, ticket) : null,
            cancellationToken).ConfigureAwait(false);
        return (attempt, slot);
    }

    /// <summary>
    /// A primitive's acquisition: one attempt (<paramref name="once"/>) when it may not wait, else attempts in line
    /// (<see cref="WaitForPrimitiveAsync"/>) until acquired or the wait is spent; traced and measured like the lock's.
    /// </summary>
    private async Task<AcquireAttempt> AcquirePrimitiveAsync(
        string resource, LockRequest? request, TimeSpan wait, string activityName, LocalWaiters.LineKind kind, PrimitiveAttempt once, Action<WaitingRooms.Ticket>? returnTicket, CancellationToken cancellationToken)
    {
        var (timing, _) = Prepare(resource, request, cancellationToken);
        var key = LockKeys.For(_options.KeyPrefix, resource);
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        using var activity = RedLockTelemetry.Source.StartActivity(activityName, ActivityKind.Client);
        activity?.SetTag(RedLockTags.Resource, resource);
        AcquireAttempt? result = null;
        try
        {
            result = wait == TimeSpan.Zero
                ? await once(_engine, resource, key, timing, null, cancellationToken).ConfigureAwait(false)
                : await WaitForPrimitiveAsync(resource, key, timing, wait, kind, once, returnTicket, cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            RecordAcquire(activity, result, time.GetElapsedTime(started));
        }
    }

    /// <summary>
    /// Waits as the lock's callers do: in this process's line for the resource and <paramref name="kind"/> of wait (the
    /// first tries the nodes, a release by this process wakes it at once), pausing with full jitter between attempts;
    /// too few answering nodes is ridden out within the wait, like contention. With <paramref name="returnTicket"/> (a semaphore) the caller takes a ticket
    /// once an attempt found every permit held, so a release in any process reserves a permit for the first waiter
    /// and wakes it; the ticket is returned at the end. Without (a reader-writer lock), a release in another process
    /// is seen at the next attempt.
    /// </summary>
    private async Task<AcquireAttempt> WaitForPrimitiveAsync(
        string resource, RedisKey key, LockTiming timing, TimeSpan wait, LocalWaiters.LineKind kind, PrimitiveAttempt once, Action<WaitingRooms.Ticket>? returnTicket, CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        using var waitCts = wait == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(wait, time);
        using var link = cancellationToken.Register(static state => ((CancellationTokenSource)state!).Cancel(), waitCts);
        var waitToken = waitCts.Token;
        var waiter = _engine.Waiters.Join(resource, kind);
        WaitingRooms.Ticket? ticket = null;
        AcquireAttempt? last = null;
        try
        {
            await waiter.Turn.WaitAsync(waitToken).ConfigureAwait(false);
            for (var pauses = 0; ;)
            {
                last = await once(_engine, resource, key, timing, ticket, cancellationToken).ConfigureAwait(false);
                waiter.LastAttempt = last;
                if (last.Outcome == AcquireOutcome.Acquired || waitToken.IsCancellationRequested)
                {
                    return last;
                }

                if (returnTicket is not null && ticket is null && last.Outcome == AcquireOutcome.Contended)
                {
                    ticket = _engine.Rooms.Issue(waiter); // registered by the next attempt's scan, made now
                    continue;
                }

                await waiter.PauseAsync(Backoff.FullJitter(_options.MinRetryDelay, _options.MaxRetryDelay, pauses++), time, waitToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return last ?? OutcomeOfTheLineAhead(waiter, started);
        }
        finally
        {
            if (ticket is not null)
            {
                returnTicket!(ticket);
            }

            _engine.Waiters.Leave(waiter);
        }
    }
}
