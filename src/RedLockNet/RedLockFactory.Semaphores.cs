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

    /// <summary>One attempt of a polled acquisition (a semaphore's, a reader's or a writer's).</summary>
    private delegate Task<AcquireAttempt> PolledAttempt(EngineContext engine, string resource, RedisKey lockKey, LockTiming timing, CancellationToken cancellationToken);

    private async Task<(AcquireAttempt Attempt, int Slot)> AcquireSemaphoreCoreAsync(string resource, int maxCount, LockRequest? request, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (maxCount is < 1 or > MaxSemaphoreCount)
        {
            throw new ArgumentOutOfRangeException(nameof(maxCount), maxCount, $"A semaphore has from 1 to {MaxSemaphoreCount} permits.");
        }

        var slot = -1;
        var attempt = await PollAsync(resource, request, wait, "redlock.semaphore.acquire", async (engine, name, key, timing, ct) =>
        {
            (var once, slot) = await SemaphoreAcquisition.AcquireOnceAsync(engine, name, key, LockKeys.SemaphoreSlotsFor(key, maxCount), maxCount, timing, MintsToken(request), ct).ConfigureAwait(false);
            return once;
        }, cancellationToken).ConfigureAwait(false);
        return (attempt, slot);
    }

    /// <summary>
    /// Attempts (<paramref name="once"/>) until acquired or the wait is spent, with full-jitter pauses between them;
    /// too few answering nodes is ridden out within the wait, like contention. The waiting room and wake-ups of the
    /// lock are not used by these primitives yet.
    /// </summary>
    private async Task<AcquireAttempt> PollAsync(string resource, LockRequest? request, TimeSpan wait, string activityName, PolledAttempt once, CancellationToken cancellationToken)
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
            for (var attempt = 0; ; attempt++)
            {
                result = await once(_engine, resource, key, timing, cancellationToken).ConfigureAwait(false);
                var left = wait == Timeout.InfiniteTimeSpan ? TimeSpan.MaxValue : wait - time.GetElapsedTime(started);
                if (result.Outcome == AcquireOutcome.Acquired || left <= TimeSpan.Zero)
                {
                    return result;
                }

                var pause = Backoff.FullJitter(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(250), attempt);
                await Task.Delay(pause < left ? pause : left, time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            var tag = result is null ? "canceled" : RedLockTelemetry.OutcomeTag(result.Outcome);
            activity?.SetTag(RedLockTags.Outcome, tag);
            RedLockTelemetry.RecordAcquire(time.GetElapsedTime(started), tag);
        }
    }
}
