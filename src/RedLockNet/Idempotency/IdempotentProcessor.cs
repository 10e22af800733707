using RedLockNet.Timing;

namespace RedLockNet.Idempotency;

/// <summary>
/// Runs a handler once per idempotency key (a webhook's delivery id), across retries, duplicates and replicas.
/// Correctness comes from a completion record, not from the lock: the record is written to every node, guarded by the
/// processing lock and its fencing token, and counts once a majority confirmed it; every call first reads a majority,
/// so any call after a completed run sees the record and gets the stored result. The lock only keeps concurrent
/// duplicates from running the handler side by side. A handler that throws leaves no record (the next delivery
/// retries); a holder that crashes loses the lock by its TTL (the next delivery runs it).
/// </summary>
public sealed class IdempotentProcessor
{
    private const string RecordName = "done";

    private readonly ILockFactoryWithRecords _locks;
    private readonly IdempotencyOptions _options;

    /// <summary>
    /// Creates a processor over <paramref name="locks"/>: a <see cref="RedLockFactory"/>, or the factory a
    /// dependency-injection container hands out (RedLockNet.Hosting's <c>AddIdempotency</c> registers the processor).
    /// Nothing is sent until the first call.
    /// </summary>
    /// <exception cref="ArgumentException">An option breaks a rule (the parameter name says which).</exception>
    public IdempotentProcessor(ILockFactoryWithRecords locks, IdempotencyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(locks);
        _locks = locks;
        _options = (options ?? new IdempotencyOptions()).Clone();
        _options.Validate(locks);
    }

    /// <summary>
    /// Runs <paramref name="handler"/> unless a delivery of <paramref name="key"/> already completed, in which case its
    /// stored result is returned (<see cref="IdempotencyOutcome{T}.Replayed"/>).
    /// </summary>
    /// <exception cref="IdempotencyInProgressException">Another delivery is processing the key (see <see cref="IdempotencyOptions.InProgress"/>).</exception>
    /// <exception cref="IdempotencyRecordException">The handler ran but its completion could not be recorded.</exception>
    /// <exception cref="IdempotencyResultTooLargeException">The result exceeds <see cref="IdempotencyOptions.MaxResultBytes"/>.</exception>
    /// <exception cref="QuorumUnavailableException">
    /// Too few nodes answered to tell whether the key was processed. With <see cref="InProgressBehavior.Wait"/> this
    /// comes only after retrying for the wait (<see cref="IdempotencyOptions.WaitTimeout"/>): a short blip is ridden out.
    /// </exception>
    public Task<IdempotencyOutcome<T>> RunOnceAsync<T>(string key, Func<CancellationToken, Task<T>> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return RunOnceAsync(key, (_, ct) => handler(ct), null, cancellationToken);
    }

    /// <summary>
    /// As <see cref="RunOnceAsync{T}(string, Func{CancellationToken, Task{T}}, CancellationToken)"/>, with per-call settings;
    /// the handler gets the run's fencing token. Its token fires when the caller cancels or the processing lock is lost.
    /// </summary>
    public async Task<IdempotencyOutcome<T>> RunOnceAsync<T>(string key, Func<IdempotencyContext, CancellationToken, Task<T>> handler, IdempotencyRequest? request = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var resource = ResourceFor(key);
        var retention = request?.Retention ?? _options.Retention;
        var inProgress = request?.InProgress ?? _options.InProgress;
        var wait = request?.WaitTimeout ?? _options.WaitTimeout;
        var expiry = request?.LockExpiry ?? _options.LockExpiry;
        IdempotencyOptions.CheckSettings(retention, inProgress, wait, expiry, "request", _locks);
        cancellationToken.ThrowIfCancellationRequested();

        var time = _locks.TimeProvider;
        var started = time.GetTimestamp();
        var blips = 0;
        while (true)
        {
            ILockHandle? handle;
            try
            {
                if (await ReadAsync(resource, retention, cancellationToken).ConfigureAwait(false) is { } done)
                {
                    return Replay<T>(key, done);
                }

                handle = await _locks.TryAcquireAsync(resource, new LockRequest { Expiry = expiry, AutoRenew = true, FencingOnAcquire = true }, cancellationToken).ConfigureAwait(false);
            }
            catch (QuorumUnavailableException) when (inProgress == InProgressBehavior.Wait && time.GetElapsedTime(started) < wait)
            {
                // a blip is not an outage: a caller that waits rides out too few answering nodes within its wait, with
                // jittered pauses; an attempt after the wait is spent throws its error (naming the nodes) to the caller
                var left = wait - time.GetElapsedTime(started);
                var pause = Backoff.FullJitter(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1), blips++);
                await Task.Delay(pause < left ? pause : left, time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (handle is null)
            {
                var waited = time.GetElapsedTime(started);
                if (inProgress == InProgressBehavior.Throw || waited >= wait)
                {
                    throw new IdempotencyInProgressException(key, inProgress == InProgressBehavior.Throw ? TimeSpan.Zero : waited);
                }

                // the first delivery is running: look again soon (its record ends the wait without taking the lock)
                var nap = Backoff.Between(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(120));
                await Task.Delay(nap < wait - waited ? nap : wait - waited, time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await using (handle.ConfigureAwait(false))
            {
                // a delivery may have completed between our read and our lock
                if (await ReadAsync(resource, retention, cancellationToken).ConfigureAwait(false) is { } justDone)
                {
                    return Replay<T>(key, justDone);
                }

                return await ExecuteAsync(key, handle, handler, retention, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<IdempotencyOutcome<T>> ExecuteAsync<T>(string key, ILockHandle handle, Func<IdempotencyContext, CancellationToken, Task<T>> handler, TimeSpan retention, CancellationToken cancellationToken)
    {
        T result;
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, handle.LostToken))
        {
            try
            {
                result = await handler(new IdempotencyContext(key, handle.FencingToken ?? 0), linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && handle.LostToken.IsCancellationRequested)
            {
                throw new IdempotencyRecordException(key, "the processing lock was lost while the handler ran, so it was cancelled");
            }
        }

        var bytes = _options.Serializer.Serialize(result);
        var stored = bytes.Length <= _options.MaxResultBytes;
        var record = new CompletionRecord(handle.FencingToken ?? 0, _locks.TimeProvider.GetUtcNow(), stored, stored ? bytes : []);
        await RecordAsync(key, handle, record, retention).ConfigureAwait(false);
        return stored
            ? new IdempotencyOutcome<T>(result, executed: true, record.FencingToken, record.CompletedAt)
            : throw new IdempotencyResultTooLargeException(key, bytes.Length, _options.MaxResultBytes);
    }

    /// <summary>
    /// Writes the completion on every node, write-once and only while our lock and fencing token stand there.
    /// Not cancellable: the side effect has happened, and a record abandoned half-way helps no one.
    /// </summary>
    private async Task RecordAsync(string key, ILockHandle handle, CompletionRecord record, TimeSpan retention)
    {
        if (handle.Status is LockStatus.Lost || handle.RemainingValidity <= TimeSpan.Zero)
        {
            throw new IdempotencyRecordException(key, "the processing lock was lost before the handler finished");
        }

        var value = record.Format();
        var write = await _locks.Records.WriteAsync(
            handle, RecordName, value, new LockRecordWriteOptions { Retention = retention, WriteOnce = true, Fenced = true, MaxAttempts = 3 },
            CancellationToken.None).ConfigureAwait(false);

        switch (write.Outcome)
        {
            case LockRecordWriteOutcome.Written:
                return;
            case LockRecordWriteOutcome.TakenByOther:
                throw new IdempotencyRecordException(key, "another delivery recorded its completion first; the processing lock must have been lost");
            case LockRecordWriteOutcome.NotHolder:
                throw new IdempotencyRecordException(key, "the processing lock or its fencing token was no longer ours on a majority");
            default:
                throw new IdempotencyRecordException(key, $"{write.Confirmed} node(s) confirmed; failed: {write.DescribeFailures()}");
        }
    }

    /// <summary>The completion record of <paramref name="resource"/>, from a majority of nodes; null when there is none.</summary>
    private async Task<CompletionRecord?> ReadAsync(string resource, TimeSpan retention, CancellationToken cancellationToken)
    {
        var read = await _locks.Records.ReadAsync(resource, RecordName, retention, cancellationToken).ConfigureAwait(false);
        CompletionRecord? newest = null;
        foreach (var value in read.Values)
        {
            if (CompletionRecord.Parse(value) is { } record && (newest is null || record.FencingToken > newest.FencingToken))
            {
                newest = record;
            }
        }

        if (newest is null && !read.FromMajority)
        {
            // a read waits for every node: each one either answered or failed
            var nodes = read.Values.Count + read.Failures.Count;
            throw new QuorumUnavailableException(resource, "read the completion record of", nodes, (nodes / 2) + 1, read.Failures);
        }

        return newest;
    }

    private IdempotencyOutcome<T> Replay<T>(string key, CompletionRecord record) =>
        record.ResultStored
            ? new IdempotencyOutcome<T>(_options.Serializer.Deserialize<T>(record.Result), executed: false, record.FencingToken, record.CompletedAt)
            : throw new IdempotencyResultTooLargeException(key, 0, _options.MaxResultBytes);

    private string ResourceFor(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new ArgumentException("The idempotency key must not be empty or white space.", nameof(key));
        }

        var resource = _options.ResourcePrefix + key;
        LockResources.Validate(resource, nameof(key));
        return resource;
    }
}
