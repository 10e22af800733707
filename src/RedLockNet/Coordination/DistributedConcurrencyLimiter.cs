using System.Threading.RateLimiting;

namespace RedLockNet;

/// <summary>How a <see cref="DistributedConcurrencyLimiter"/> limits and queues.</summary>
public sealed record DistributedConcurrencyLimiterOptions
{
    /// <summary>The semaphore's resource name: every limiter with this name, in every replica, shares its permits. Required.</summary>
    public required string Resource { get; init; }

    /// <summary>How many leases may be held at once across every replica (the semaphore's permits). 1 to <see cref="RedLockFactory.MaxSemaphoreCount"/>.</summary>
    public required int PermitLimit { get; init; }

    /// <summary>How many callers of this limiter (this process) may wait for a permit; 0 rejects at once when none is free.</summary>
    public int QueueLimit { get; init; }

    /// <summary>Which waiting caller of this limiter gets the next permit it wins.</summary>
    public QueueProcessingOrder QueueProcessingOrder { get; init; } = QueueProcessingOrder.OldestFirst;

    /// <summary>The expiry of each permit's lock (renewed while the lease is held); null: the factory's default.</summary>
    public TimeSpan? PermitExpiry { get; init; }

    /// <summary>Checks every setting; each error names it (<c>options.X</c>) and the rule.</summary>
    internal void Validate()
    {
        LockResources.Validate(Resource, "options.Resource");
        if (PermitLimit is < 1 or > RedLockFactory.MaxSemaphoreCount)
        {
            throw new ArgumentOutOfRangeException("options.PermitLimit", PermitLimit, $"A limiter has from 1 to {RedLockFactory.MaxSemaphoreCount} permits.");
        }

        if (QueueLimit < 0)
        {
            throw new ArgumentOutOfRangeException("options.QueueLimit", QueueLimit, "The queue limit must not be negative.");
        }

        if (!Enum.IsDefined(QueueProcessingOrder))
        {
            throw new ArgumentOutOfRangeException("options.QueueProcessingOrder", QueueProcessingOrder, "Not a queue processing order.");
        }
    }
}

/// <summary>
/// A <see cref="RateLimiter"/> that caps concurrent work across every replica: a lease is a permit of a distributed
/// semaphore (<see cref="ISemaphoreFactory"/>), so at most <see cref="DistributedConcurrencyLimiterOptions.PermitLimit"/>
/// leases are held at once in all processes together. Callers of one limiter queue locally (up to
/// <see cref="DistributedConcurrencyLimiterOptions.QueueLimit"/>, in <see cref="DistributedConcurrencyLimiterOptions.QueueProcessingOrder"/>);
/// one of them at a time asks the nodes, and each permit it wins goes to the caller whose turn it is. Disposing a
/// lease releases its permit. <see cref="RateLimiter.AttemptAcquire"/> cannot ask the nodes without blocking, so it
/// never grants (ASP.NET Core's rate limiting middleware then calls <see cref="RateLimiter.AcquireAsync"/>).
/// </summary>
public sealed class DistributedConcurrencyLimiter : RateLimiter
{
    private readonly ISemaphoreFactory _semaphores;
    private readonly DistributedConcurrencyLimiterOptions _options;
    private readonly TimeProvider _time;
    private readonly LinkedList<TaskCompletionSource<ISemaphoreHandle>> _queue = new();
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _disposed = new();
    private bool _pumping; // under _gate: a pump runs and will look at the queue again before it stops
    private int _held;
    private long _successful;
    private long _failed;
    private long _idleSince;

    /// <summary>Creates a limiter over <paramref name="semaphores"/> (a <see cref="RedLockFactory"/>, or the one <c>AddRedLock</c> registers).</summary>
    /// <exception cref="ArgumentException">An option breaks a rule; its name says which.</exception>
    public DistributedConcurrencyLimiter(ISemaphoreFactory semaphores, DistributedConcurrencyLimiterOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(semaphores);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _semaphores = semaphores;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _idleSince = _time.GetTimestamp();
    }

    /// <inheritdoc />
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_gate)
            {
                return _held > 0 || _queue.Count > 0 ? null : _time.GetElapsedTime(_idleSince);
            }
        }
    }

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_gate)
        {
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = Math.Max(0, _options.PermitLimit - _held), // this process's view: others may hold some
                CurrentQueuedCount = _queue.Count,
                TotalSuccessfulLeases = Interlocked.Read(ref _successful),
                TotalFailedLeases = Interlocked.Read(ref _failed),
            };
        }
    }

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        CheckPermitCount(permitCount);
        return permitCount == 0 ? PermitLease.Empty : Failed();
    }

    /// <inheritdoc />
    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        CheckPermitCount(permitCount);
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if (permitCount == 0)
        {
            return PermitLease.Empty;
        }

        bool idle;
        lock (_gate)
        {
            idle = _queue.Count == 0 && !_pumping;
        }

        // nobody waits here: one look at the nodes first (otherwise the caller queues behind those who wait)
        if (idle && await TryOnceAsync(cancellationToken).ConfigureAwait(false) is { } permit)
        {
            return Granted(permit);
        }

        TaskCompletionSource<ISemaphoreHandle> turn;
        LinkedListNode<TaskCompletionSource<ISemaphoreHandle>> place;
        lock (_gate)
        {
            if (_queue.Count >= _options.QueueLimit)
            {
                return Failed();
            }

            turn = new TaskCompletionSource<ISemaphoreHandle>(TaskCreationOptions.RunContinuationsAsynchronously);
            place = _queue.AddLast(turn);
            StartPumpLocked();
        }

        using (cancellationToken.Register(static state => ((TaskCompletionSource<ISemaphoreHandle>)state!).TrySetCanceled(), turn))
        {
            try
            {
                return Granted(await turn.Task.ConfigureAwait(false));
            }
            catch (OperationCanceledException)
            {
                lock (_gate)
                {
                    if (place.List is not null)
                    {
                        _queue.Remove(place);
                    }
                }

                throw;
            }
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing || _disposed.IsCancellationRequested)
        {
            return;
        }

        _disposed.Cancel();
        List<TaskCompletionSource<ISemaphoreHandle>> waiting;
        lock (_gate)
        {
            waiting = [.. _queue];
            _queue.Clear();
        }

        foreach (var waiter in waiting)
        {
            waiter.TrySetException(new ObjectDisposedException(nameof(DistributedConcurrencyLimiter)));
        }
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        await base.DisposeAsyncCore().ConfigureAwait(false);
        Dispose(true);
    }

    private static void CheckPermitCount(int permitCount)
    {
        if (permitCount is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount, "A lease of a distributed limiter holds one permit (0 asks nothing).");
        }
    }

    private Task<ISemaphoreHandle?> TryOnceAsync(CancellationToken cancellationToken) =>
        _semaphores.TryAcquireSemaphoreAsync(_options.Resource, _options.PermitLimit, new LockRequest { Expiry = _options.PermitExpiry }, cancellationToken);

    /// <summary>Starts the pump unless one runs (it decides to stop under the same lock, so no caller is left without one).</summary>
    private void StartPumpLocked()
    {
        if (!_pumping)
        {
            _pumping = true;
            _ = PumpAsync();
        }
    }

    /// <summary>While callers wait here: wins permits one at a time (waiting as long as it takes) and hands each to the caller whose turn it is.</summary>
    private async Task PumpAsync()
    {
        try
        {
            await PumpLoopAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            // the factory was disposed under us: the callers waiting here get its error, and the next caller a new pump
            List<TaskCompletionSource<ISemaphoreHandle>> waiting;
            lock (_gate)
            {
                _pumping = false;
                waiting = [.. _queue];
                _queue.Clear();
            }

            foreach (var waiter in waiting)
            {
                waiter.TrySetException(ex);
            }
        }
    }

    /// <summary>Ends the pump: the flag is cleared under the gate, so a caller arriving after sees it stopped.</summary>
    private void StopPumping()
    {
        lock (_gate)
        {
            _pumping = false;
        }
    }

    private async Task PumpLoopAsync()
    {
        await Task.Yield();
        var request = new LockRequest { Expiry = _options.PermitExpiry, WaitTimeout = Timeout.InfiniteTimeSpan };
        while (true)
        {
            if (_disposed.IsCancellationRequested)
            {
                StopPumping();
                return;
            }

            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _pumping = false;
                    return;
                }
            }

            ISemaphoreHandle permit;
            try
            {
                permit = await _semaphores.AcquireSemaphoreAsync(_options.Resource, _options.PermitLimit, request, _disposed.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_disposed.IsCancellationRequested)
            {
                StopPumping();
                return;
            }
            catch (RedLockException)
            {
                // too few nodes for a while: keep trying while callers wait (each caller's own token bounds its wait)
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            if (!HandOver(permit))
            {
                await permit.DisposeAsync().ConfigureAwait(false); // everyone gave up meanwhile
            }
        }
    }

    /// <summary>Gives <paramref name="permit"/> to the caller whose turn it is; false when none waits any more.</summary>
    private bool HandOver(ISemaphoreHandle permit)
    {
        while (true)
        {
            TaskCompletionSource<ISemaphoreHandle> next;
            lock (_gate)
            {
                var node = _options.QueueProcessingOrder == QueueProcessingOrder.OldestFirst ? _queue.First : _queue.Last;
                if (node is null)
                {
                    return false;
                }

                _queue.Remove(node);
                next = node.Value;
            }

            if (next.TrySetResult(permit))
            {
                return true;
            }
        }
    }

    private PermitLease Granted(ISemaphoreHandle permit)
    {
        Interlocked.Increment(ref _successful);
        lock (_gate)
        {
            _held++;
        }

        return new PermitLease(this, permit);
    }

    private PermitLease Failed()
    {
        Interlocked.Increment(ref _failed);
        return PermitLease.Refused;
    }

    private void Returned()
    {
        lock (_gate)
        {
            if (--_held == 0)
            {
                _idleSince = _time.GetTimestamp();
            }
        }
    }

    /// <summary>A lease: a held permit (released on dispose), or a refusal.</summary>
    private sealed class PermitLease(DistributedConcurrencyLimiter? limiter, ISemaphoreHandle? permit, bool acquired) : RateLimitLease
    {
        private int _disposed;

        public PermitLease(DistributedConcurrencyLimiter limiter, ISemaphoreHandle permit)
            : this(limiter, permit, true)
        {
        }

        public static PermitLease Empty { get; } = new(null, null, true);

        public static PermitLease Refused { get; } = new(null, null, false);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (!disposing || permit is null || Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            limiter!.Returned();
            _ = ReleaseAsync(permit); // Dispose is synchronous: the release runs on, bounded by the node timeout
        }

        private static async Task ReleaseAsync(ISemaphoreHandle permit)
        {
            try
            {
                await permit.DisposeAsync().ConfigureAwait(false);
            }
            catch (RedLockException)
            {
                // the permit expires with its time to live
            }
        }
    }
}

/// <summary>Partitions of <see cref="DistributedConcurrencyLimiter"/> for a <see cref="PartitionedRateLimiter{TResource}"/> (ASP.NET Core's <c>AddRateLimiter</c>).</summary>
public static class DistributedRateLimitPartition
{
    /// <summary>
    /// A partition keyed by <paramref name="partitionKey"/> whose limiter is a <see cref="DistributedConcurrencyLimiter"/>
    /// with the options <paramref name="factory"/> gives for the key (use the key in the resource name, so each
    /// partition has its own permits across replicas).
    /// </summary>
    public static RateLimitPartition<TKey> GetConcurrencyLimiter<TKey>(TKey partitionKey, ISemaphoreFactory semaphores, Func<TKey, DistributedConcurrencyLimiterOptions> factory)
    {
        ArgumentNullException.ThrowIfNull(semaphores);
        ArgumentNullException.ThrowIfNull(factory);
        return RateLimitPartition.Get(partitionKey, key => new DistributedConcurrencyLimiter(semaphores, factory(key)));
    }
}
