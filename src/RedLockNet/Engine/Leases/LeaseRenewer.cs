using RedLockNet.Timing;
using Microsoft.Extensions.Logging;
using RedLockNet.Engine;
using RedLockNet.Diagnostics;

namespace RedLockNet.Engine.Leases;

/// <summary>
/// Renews every auto-renewed lease of one factory. Leases wait in a priority queue by renewal time; one timer,
/// armed for the earliest, wakes the renewer, and leases due within a short window are renewed together, one script
/// call per node for up to <see cref="RedLockOptions.RenewalBatchSize"/> leases. A released or lost lease leaves the
/// queue at once. Nothing runs while no lease is due: no loop task, no thread, and a lease is never renewed twice at once.
/// </summary>
internal sealed class LeaseRenewer : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly LeaseQueue _queue = new();
    private readonly HashSet<Task> _renewing = [];
    private readonly EngineContext _engine;
    private readonly RedLockOptions _options;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private bool _disposed;
    private int _active;

    public LeaseRenewer(EngineContext engine, RedLockOptions options)
    {
        _engine = engine;
        _options = options;
        _time = options.TimeProvider;
        _timer = _time.CreateTimer(static state => ((LeaseRenewer)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Leases this renewer keeps alive now.</summary>
    public int ActiveLeases => Volatile.Read(ref _active);

    /// <summary>Leases waiting in the queue (a lease being renewed right now is not in it).</summary>
    public int QueuedLeases
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Whether the timer is armed or a renewal is under way (neither, once no lease is left).</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _armedFor != long.MaxValue || _renewing.Count > 0;
            }
        }
    }

    /// <summary>Starts renewing <paramref name="lease"/> about a third of its ttl from now.</summary>
    public void Track(Lease lease)
    {
        Interlocked.Increment(ref _active);
        RedLockTelemetry.LeaseStarted();
        Schedule(lease, Cadence(lease.Ttl));
    }

    /// <summary>A tracked lease ended (released or lost): it leaves the queue now.</summary>
    public void Untrack(Lease lease)
    {
        RedLockTelemetry.LeaseEnded();
        Interlocked.Decrement(ref _active);
        lock (_gate)
        {
            _queue.Remove(lease);
            if (_queue.Count == 0)
            {
                Disarm();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task[] renewing;
        lock (_gate)
        {
            _disposed = true;
            _queue.Clear();
            Disarm();
            renewing = [.. _renewing];
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(renewing).ConfigureAwait(false);
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

    /// <summary>Queues <paramref name="lease"/> for renewal <paramref name="after"/> from now, and wakes earlier if it is the first due.</summary>
    private void Schedule(Lease lease, TimeSpan after)
    {
        if (!lease.IsActive)
        {
            return;
        }

        var at = _time.GetTimestamp() + _time.ToTimestampTicks(after);
        lock (_gate)
        {
            if (_disposed || !lease.IsActive)
            {
                return;
            }

            _queue.Enqueue(lease, at);
            if (at < _armedFor)
            {
                Arm(at);
            }
        }
    }

    /// <summary>The timer fired: takes every lease due (a little early, to join a batch) and renews them.</summary>
    private void OnTimer()
    {
        var logger = _engine.Logger;
        List<Lease>? due = null;
        lock (_gate)
        {
            _armedFor = long.MaxValue;
            if (_disposed)
            {
                return;
            }

            var now = _time.GetTimestamp();
            while (_queue.TryPeek(out var lease, out var at) && at <= now + _time.ToTimestampTicks(Cadence(lease.Ttl) / 10))
            {
                _queue.Dequeue();
                if (!lease.IsActive)
                {
                    continue;
                }

                if (lease.Owner is { } owner && !owner.TryGetTarget(out _))
                {
                    // dropped without release: stop renewing; the keys expire with their ttl and the deadline still
                    // fires the lost token for anyone holding it (and untracks the lease)
                    Log.LeaseAbandoned(logger, lease.Resource, LockIds.Prefix(lease.LockId));
                    continue;
                }

                (due ??= []).Add(lease);
            }

            if (_queue.TryPeek(out _, out var next))
            {
                Arm(Math.Max(next, now));
            }
        }

        if (due is null)
        {
            return;
        }

        foreach (var batch in due.Chunk(_options.RenewalBatchSize))
        {
            var renewal = RenewAsync(batch);
            lock (_gate)
            {
                if (!renewal.IsCompleted)
                {
                    _renewing.Add(renewal);
                }
            }

            _ = renewal.ContinueWith(static (t, state) => ((LeaseRenewer)state!).Done(t), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void Done(Task renewal)
    {
        lock (_gate)
        {
            _renewing.Remove(renewal);
        }
    }

    /// <summary>Points the timer at <paramref name="at"/> (a monotonic timestamp). Under the lock.</summary>
    private void Arm(long at)
    {
        _armedFor = at;
        var now = _time.GetTimestamp();
        _timer.Change(at <= now ? TimeSpan.Zero : _time.GetElapsedTime(now, at), Timeout.InfiniteTimeSpan);
    }

    /// <summary>Stops the timer. Under the lock.</summary>
    private void Disarm()
    {
        if (_armedFor != long.MaxValue)
        {
            _armedFor = long.MaxValue;
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
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
                    Schedule(lease, Cadence(lease.Ttl) / 4);
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
            var extension = await ExtendRound.RunAsync(_engine.Nodes, items, _options.NodeTimeout, _engine.Timeouts).ConfigureAwait(false);
            for (var i = 0; i < entered.Count; i++)
            {
                var lease = entered[i];
                var outcome = ApplyExtension(lease, extension, i, items[i].Ttl, logger);
                if (outcome == ExtendOutcome.Extended)
                {
                    Schedule(lease, Cadence(lease.Ttl));
                }
                else if (outcome == ExtendOutcome.Uncertain)
                {
                    Schedule(lease, RetryDelay(lease.Ttl));
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // never let a renewal fault kill the loop: retry these leases soon; their deadlines still protect the holders
            Log.RenewalFailed(logger, ex);
            foreach (var lease in entered)
            {
                Schedule(lease, RetryDelay(lease.Ttl));
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

    /// <summary>After an undecided renewal: try again soon, but not in a tight loop.</summary>
    private TimeSpan RetryDelay(TimeSpan ttl)
    {
        var delay = ttl / 12;
        return delay < _options.NodeTimeout ? _options.NodeTimeout : delay;
    }
}
