using System.Diagnostics;
using RedLockNet.Diagnostics;
using RedLockNet.Engine;
using StackExchange.Redis;

namespace RedLockNet;

/// <summary>The multi-resource entry points of <see cref="RedLockFactory"/>.</summary>
public sealed partial class RedLockFactory : IMultiLockFactory
{
    /// <inheritdoc />
    public async Task<MultiLockHandle> AcquireAllAsync(IReadOnlyList<string> resources, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        (await AcquireAllCoreAsync(resources, request, waits: true, cancellationToken).ConfigureAwait(false))!;

    /// <inheritdoc />
    public Task<MultiLockHandle?> TryAcquireAllAsync(IReadOnlyList<string> resources, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        AcquireAllCoreAsync(resources, request, waits: false, cancellationToken);

    /// <summary>
    /// Checks the list, then acquires (<see cref="AcquireCheckedAllAsync"/>); a resource refused as in use by a semaphore is
    /// reported against <paramref name="resources"/>, the parameter the caller gave.
    /// </summary>
    private async Task<MultiLockHandle?> AcquireAllCoreAsync(IReadOnlyList<string> resources, LockRequest? request, bool waits, CancellationToken cancellationToken)
    {
        var ordered = Ordered(resources);
        try
        {
            return await AcquireCheckedAllAsync(resources, ordered, request, waits, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException e) when (e.ParamName == "resource")
        {
            throw new ArgumentException(e.Message, nameof(resources), e); // one of them is in use as a semaphore
        }
    }

    /// <summary>
    /// One round for resources in one hash slot; when that finds one held (or too few nodes answered) and the caller may
    /// wait, or when the slots differ, the locks in order (<see cref="AcquireInOrderAsync"/>) with what is left of the wait.
    /// </summary>
    private async Task<MultiLockHandle?> AcquireCheckedAllAsync(IReadOnlyList<string> resources, string[] ordered, LockRequest? request, bool waits, CancellationToken cancellationToken)
    {
        var wait = LockRequest.CheckWait(request?.WaitTimeout ?? (waits ? _options.WaitTimeout : TimeSpan.Zero), "request.WaitTimeout");
        var started = _options.TimeProvider.GetTimestamp();
        if (ordered.Length > 1 && KeysInOneSlot(ordered) is { } keys)
        {
            var together = new Acquisition.Together(ordered, keys);
            var attempt = await AcquireTogetherAsync(together, request, cancellationToken).ConfigureAwait(false);
            if (together.Grants is { } grants)
            {
                return new MultiLockHandle(resources, [.. grants.Select(g => _leases.Open(g, request))]);
            }

            if (wait == TimeSpan.Zero)
            {
                return !waits && attempt.Outcome == AcquireOutcome.Contended ? null : throw Failure(string.Join(", ", ordered), attempt, wait);
            }
        }

        return await AcquireInOrderAsync(resources, ordered, request, waits, wait, started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The resources' keys when they all land in one hash slot (one script may then touch them all), else null.</summary>
    private RedisKey[]? KeysInOneSlot(string[] ordered)
    {
        var keys = new RedisKey[ordered.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = LockKeys.For(_options.KeyPrefix, ordered[i]);
        }

        return LockKeys.ShareSlot(keys) ? keys : null;
    }

    /// <summary>One attempt at all of them in one round per node; traced as <c>redlock.acquire_all</c> and measured.</summary>
    private async Task<AcquireAttempt> AcquireTogetherAsync(Acquisition.Together together, LockRequest? request, CancellationToken cancellationToken)
    {
        var (timing, mintToken) = Prepare(together.Resources[0], request, cancellationToken);
        var started = _options.TimeProvider.GetTimestamp();
        using var activity = RedLockTelemetry.Source.StartActivity("redlock.acquire_all", ActivityKind.Client);
        activity?.SetTag(RedLockTags.Resource, string.Join(',', together.Resources));
        AcquireAttempt? result = null;
        try
        {
            result = await Acquisition.AcquireTogetherOnceAsync(_engine, together, timing, mintToken, cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            RecordAcquire(activity, result, _options.TimeProvider.GetElapsedTime(started));
        }
    }

    /// <summary>
    /// Takes the locks in order: <see cref="AcquireAsync"/> each when <paramref name="waits"/> (its failure is thrown),
    /// else <see cref="TryAcquireAsync"/> (null when one is held by others). Whatever is held when it fails is released
    /// before it returns.
    /// </summary>
    private async Task<MultiLockHandle?> AcquireInOrderAsync(IReadOnlyList<string> resources, string[] ordered, LockRequest? request, bool waits, TimeSpan wait, long started, CancellationToken cancellationToken)
    {
        var held = new List<ILockHandle>(ordered.Length);
        try
        {
            foreach (var resource in ordered)
            {
                var next = RemainingWait(request, wait, started);
                var handle = waits
                    ? await AcquireAsync(resource, next, cancellationToken).ConfigureAwait(false)
                    : await TryAcquireAsync(resource, next, cancellationToken).ConfigureAwait(false);
                if (handle is null)
                {
                    await ReleaseAllAsync(held).ConfigureAwait(false);
                    return null;
                }

                held.Add(handle);
            }
        }
        catch
        {
            await ReleaseAllAsync(held).ConfigureAwait(false); // cleanup: not cut short by the caller
            throw;
        }

        return new MultiLockHandle(resources, held);
    }

    /// <summary>The resources in the order every caller takes them, after checking the list.</summary>
    private static string[] Ordered(IReadOnlyList<string> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        if (resources.Count == 0)
        {
            throw new ArgumentException("At least one resource is required.", nameof(resources));
        }

        for (var i = 0; i < resources.Count; i++)
        {
            LockResources.Validate(resources[i], nameof(resources));
        }

        var ordered = resources.Order(StringComparer.Ordinal).ToArray();
        for (var i = 1; i < ordered.Length; i++)
        {
            if (string.Equals(ordered[i], ordered[i - 1], StringComparison.Ordinal))
            {
                throw new ArgumentException($"'{ordered[i]}' is listed twice; each resource is locked once.", nameof(resources));
            }
        }

        return ordered;
    }

    /// <summary>The request for the next lock: the whole call's <paramref name="wait"/> less what it took so far.</summary>
    private LockRequest RemainingWait(LockRequest? request, TimeSpan wait, long started)
    {
        var left = wait == Timeout.InfiniteTimeSpan ? wait : wait - _options.TimeProvider.GetElapsedTime(started);
        return (request ?? new LockRequest()) with { WaitTimeout = left == Timeout.InfiniteTimeSpan || left > TimeSpan.Zero ? left : TimeSpan.Zero };
    }

    /// <summary>
    /// Cleanup after a failure: each release is bounded by the node timeout, and one that too few nodes confirm is
    /// logged by the handle, not thrown, so the caller is told why the call failed (a lock left behind expires with its
    /// time to live).
    /// </summary>
    private static Task ReleaseAllAsync(List<ILockHandle> held) =>
        Task.WhenAll(held.Select(h => h.DisposeAsync().AsTask()));
}
