using RedLockNet.Timing;
using Microsoft.Extensions.Logging;
using RedLockNet.Engine;
using RedLockNet.Diagnostics;

namespace RedLockNet.Engine.Leases;

/// <summary>
/// Renews every auto-renewed lease of one factory from a single async loop: leases due within a short window
/// are renewed together, one script call per node for up to <see cref="RedLockOptions.RenewalBatchSize"/> leases.
/// The loop runs only while there are leases, never blocks a thread, and a lease is never renewed twice at once.
/// </summary>
internal sealed class LeaseRenewer : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly PriorityQueue<Lease, long> _queue = new();
    private readonly EngineContext _engine;
    private readonly RedLockOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private CancellationTokenSource? _nap;
    private Task? _loop;
    private int _active;

    public LeaseRenewer(EngineContext engine, RedLockOptions options)
    {
        _engine = engine;
        _options = options;
        _time = options.TimeProvider;
    }

    /// <summary>Leases this renewer keeps alive now.</summary>
    public int ActiveLeases => Volatile.Read(ref _active);

    /// <summary>Whether the renewal loop is running (it stops when no lease is left).</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _loop is { IsCompleted: false };
            }
        }
    }

    /// <summary>Starts renewing <paramref name="lease"/> about a third of its ttl from now.</summary>
    public void Track(Lease lease)
    {
        lease.RenewAt = _time.GetTimestamp() + _time.ToTimestampTicks(Cadence(lease.Ttl));
        Interlocked.Increment(ref _active);
        RedLockTelemetry.LeaseStarted();
        Enqueue(lease);
    }

    /// <summary>A tracked lease ended (released or lost). Its queue entry is dropped lazily, or at once when it was the last.</summary>
    public void Untrack()
    {
        RedLockTelemetry.LeaseEnded();
        if (Interlocked.Decrement(ref _active) == 0)
        {
            lock (_gate)
            {
                if (Volatile.Read(ref _active) == 0)
                {
                    _queue.Clear();
                    _nap?.Cancel();
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_gate)
        {
            _stop.Cancel();
            _nap?.Cancel();
            loop = _loop;
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    /// <summary>The pause between renewals: a third of the ttl.</summary>
    internal static TimeSpan Cadence(TimeSpan ttl) => ttl / 3;

    /// <summary>Applies one extension (the renewer's or a manual one) to a lease, logging and reporting a refusal.</summary>
    internal static ExtendOutcome ApplyExtension(Lease lease, ExtendRound extension, int index, TimeSpan ttl, ILogger logger)
    {
        var verdict = extension.VerdictOf(index);
        var outcome = lease.Apply(verdict, extension.StartedAt, ttl);
        if (outcome == ExtendOutcome.Uncertain && logger.IsEnabled(LogLevel.Debug))
        {
            Log.RenewalUncertain(logger, lease.Resource, LockIds.Prefix(lease.LockId), verdict.Extended, verdict.Refused, verdict.Failed);
        }

        return outcome;
    }

    private void Enqueue(Lease lease)
    {
        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            var wakeEarlier = _queue.TryPeek(out _, out var first) && lease.RenewAt < first;
            _queue.Enqueue(lease, lease.RenewAt);
            if (_loop is null || _loop.IsCompleted)
            {
                _loop = Task.Run(RunGuardedAsync);
            }
            else if (wakeEarlier)
            {
                _nap?.Cancel();
            }
        }
    }

    private async Task RunGuardedAsync()
    {
        while (true)
        {
            try
            {
                await RunAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // a bug, not a node fault (those are votes): log it, pause, carry on; deadlines protect holders meanwhile
                Log.RenewalFailed(_engine.Logger, ex);
                try
                {
                    await Task.Delay(_options.NodeTimeout, _time, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task RunAsync()
    {
        var logger = _engine.Logger;
        while (true)
        {
            List<Lease>? due = null;
            TimeSpan nap = Timeout.InfiniteTimeSpan;
            CancellationTokenSource? napCts = null;
            lock (_gate)
            {
                if (_stop.IsCancellationRequested || Volatile.Read(ref _active) == 0 || _queue.Count == 0)
                {
                    _queue.Clear();
                    _loop = null;
                    return;
                }

                var now = _time.GetTimestamp();
                // renew a little early to join a batch: leases due within a tenth of their cadence go together
                while (_queue.TryPeek(out var lease, out var at) && at <= now + _time.ToTimestampTicks(Cadence(lease.Ttl) / 10))
                {
                    _queue.Dequeue();
                    if (!lease.IsActive)
                    {
                        continue;
                    }

                    if (lease.Owner is { } owner && !owner.TryGetTarget(out _))
                    {
                        // dropped without release: stop renewing; the keys expire with their ttl and the
                        // deadline still fires the lost token for anyone holding it (and untracks the lease)
                        Log.LeaseAbandoned(logger, lease.Resource, LockIds.Prefix(lease.LockId));
                        continue;
                    }

                    (due ??= []).Add(lease);
                }

                if (due is null)
                {
                    nap = _queue.TryPeek(out _, out var next) ? _time.GetElapsedTime(now, Math.Max(now, next)) : Timeout.InfiniteTimeSpan;
                    napCts = _nap = new CancellationTokenSource();
                }
            }

            if (due is not null)
            {
                foreach (var batch in due.Chunk(_options.RenewalBatchSize))
                {
                    _ = RenewAsync(batch);
                }

                continue;
            }

            try
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(napCts!.Token, _stop.Token);
                await Task.Delay(nap, _time, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // woken: a new earlier lease, the last lease ended, or the factory is disposing
            }
            finally
            {
                lock (_gate)
                {
                    // cleared under the lock before disposal, so nobody cancels a disposed source
                    if (ReferenceEquals(_nap, napCts))
                    {
                        _nap = null;
                    }

                    napCts!.Dispose();
                }
            }
        }
    }

    /// <summary>Extends one batch; every lease goes back in the queue (or leaves it) according to its own verdict.</summary>
    private async Task RenewAsync(Lease[] batch)
    {
        var logger = _engine.Logger;
        var entered = new List<Lease>(batch.Length);
        try
        {
            var items = new List<ExtendItem>(batch.Length);
            foreach (var lease in batch)
            {
                // a manual extension in progress on this lease: skip this round, it reschedules itself
                if (!lease.ExtendGate.Wait(0))
                {
                    Reschedule(lease, Cadence(lease.Ttl) / 4);
                    continue;
                }

                var ttl = lease.NextTtl(lease.Ttl);
                if (!lease.IsActive || ttl < LockTiming.ShortestExpiry)
                {
                    // released, lost, or at its hold-time cap: the deadline timer has the last word
                    lease.ExtendGate.Release();
                    continue;
                }

                entered.Add(lease);
                items.Add(new ExtendItem(lease.Key, lease.LockId, ttl));
            }

            if (items.Count == 0)
            {
                return;
            }

            RedLockTelemetry.RecordRenewalBatch(items.Count);
            var extension = await ExtendRound.RunAsync(_engine.Nodes, items, _options.NodeTimeout, _time).ConfigureAwait(false);
            for (var i = 0; i < entered.Count; i++)
            {
                var lease = entered[i];
                var outcome = ApplyExtension(lease, extension, i, items[i].Ttl, logger);
                if (outcome == ExtendOutcome.Extended)
                {
                    Reschedule(lease, Cadence(lease.Ttl));
                }
                else if (outcome == ExtendOutcome.Uncertain)
                {
                    Reschedule(lease, RetryDelay(lease.Ttl));
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // never let a renewal fault kill the loop: retry these leases soon; their deadlines still protect the holders
            Log.RenewalFailed(logger, ex);
            foreach (var lease in entered)
            {
                Reschedule(lease, RetryDelay(lease.Ttl));
            }
        }
        finally
        {
            foreach (var lease in entered)
            {
                lease.ExtendGate.Release();
            }
        }
    }

    private void Reschedule(Lease lease, TimeSpan after)
    {
        if (!lease.IsActive)
        {
            return;
        }

        lease.RenewAt = _time.GetTimestamp() + _time.ToTimestampTicks(after);
        Enqueue(lease);
    }

    /// <summary>After an undecided renewal: try again soon, but not in a tight loop.</summary>
    private TimeSpan RetryDelay(TimeSpan ttl)
    {
        var delay = ttl / 12;
        return delay < _options.NodeTimeout ? _options.NodeTimeout : delay;
    }
}
