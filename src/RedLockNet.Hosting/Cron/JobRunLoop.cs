using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Polly;
using RedLockNet.Hosting.Diagnostics;
using RedLockNet.Hosting.Election;

namespace RedLockNet.Hosting.Cron;

/// <summary>
/// One job's run loop for one leadership term: catches up on ticks missed since the last claimed one, then
/// claims and runs each tick as it comes. Runs go through a single worker, so runs of one job never overlap.
/// </summary>
internal sealed class JobRunLoop
{
    /// <summary>A catch-up looks at no more ticks than this (a per-second job after a long outage).</summary>
    private const int MaxTicksExamined = 1000;

    /// <summary>Ticks past the grace are reported one by one up to this many, then as a count.</summary>
    private const int MaxTicksReported = 100;

    /// <summary>The longest single wait: long waits are re-checked against the wall clock.</summary>
    private static readonly TimeSpan LongestNap = TimeSpan.FromHours(1);

    private readonly CronRunner _runner;
    private readonly CronJob _job;
    private readonly LeadershipTerm _term;
    private readonly TimeProvider _time;
    private readonly Channel<(DateTimeOffset Tick, bool IsCatchUp)> _queue =
        Channel.CreateUnbounded<(DateTimeOffset, bool)>(new UnboundedChannelOptions { SingleReader = true });

    private int _pending; // ticks queued or running
    private int _catchUpPending; // of those, missed ticks being caught up

    public JobRunLoop(CronRunner runner, CronJob job, LeadershipTerm term)
    {
        _runner = runner;
        _job = job;
        _term = term;
        _time = runner.Time;
    }

    /// <summary>Whether the loop got through its catch-up and schedules ticks as they come.</summary>
    public bool CaughtUp { get; private set; }

    /// <summary>The record that keeps the job's highest claimed tick (ms since the epoch).</summary>
    private string HighWaterName => "last:" + _job.Name;

    private string ClaimValue => LeaderRecord.Of(_term).Format();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var worker = Task.Run(() => WorkAsync(cancellationToken), CancellationToken.None);
        try
        {
            var cursor = await CatchUpAsync(cancellationToken).ConfigureAwait(false);
            CaughtUp = true;
            while (!cancellationToken.IsCancellationRequested && _job.NextAfter(cursor) is { } next)
            {
                await WaitUntilAsync(next, cancellationToken).ConfigureAwait(false);
                cursor = next;
                await FireAsync(next, isCatchUp: false, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the term ended
        }
        finally
        {
            _queue.Writer.TryComplete();
            await worker.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs, once each, the ticks after the job's last claimed tick that are within the misfire grace; reports the
    /// older ones as missed. A job that was never claimed starts from now.
    /// </summary>
    private async Task<DateTimeOffset> CatchUpAsync(CancellationToken cancellationToken)
    {
        // the high-water mark only says where catching up starts; each tick is then claimed, and the claims keep every
        // tick at most once, so a node that lost its data (and with it an older mark) may still answer here
        var read = await _runner.Locks.Records.ReadAsync(_term.Group, HighWaterName, _runner.LeaseDuration, cancellationToken).ConfigureAwait(false);
        long? last = null;
        foreach (var value in read.Values)
        {
            if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var claimed) && (last is null || claimed > last))
            {
                last = claimed;
            }
        }

        if (!read.FromMajority)
        {
            // too few answers to know which ticks were missed: fail, and the runner retries the schedule shortly
            throw new QuorumUnavailableException(_term.Group, $"read the last claimed tick of job '{_job.Name}' for", _runner.Locks.NodeCount, _runner.Locks.Majority, []);
        }

        var now = _time.GetUtcNow();
        if (last is not { } lastMs)
        {
            return now;
        }

        var graceStart = now - _runner.GraceFor(_job);
        var late = new List<DateTimeOffset>();
        var pastGrace = 0;
        DateTimeOffset? firstPast = null, lastPast = null;
        var examined = 0;
        for (var tick = _job.NextAfter(DateTimeOffset.FromUnixTimeMilliseconds(lastMs)); tick is { } t && t <= now && examined < MaxTicksExamined; tick = _job.NextAfter(t), examined++)
        {
            if (t >= graceStart)
            {
                late.Add(t);
                continue;
            }

            firstPast ??= t;
            lastPast = t;
            if (++pastGrace <= MaxTicksReported)
            {
                _runner.Report(_job, t, CronTickOutcome.MissedPastGrace, _term, isCatchUp: true, $"due {Describe(now - t)} ago, grace {Describe(_runner.GraceFor(_job))}");
            }
        }

        if (pastGrace > MaxTicksReported)
        {
            HostingLog.TicksPastGrace(_runner.Logger, _job.Name, pastGrace, firstPast!.Value, lastPast!.Value);
        }

        foreach (var tick in late)
        {
            await FireAsync(tick, isCatchUp: true, cancellationToken).ConfigureAwait(false);
        }

        return now;
    }

    private async Task WaitUntilAsync(DateTimeOffset due, CancellationToken cancellationToken)
    {
        // re-read the clock after each nap: the wall clock may be adjusted, and fake clocks advance in steps
        for (var left = due - _time.GetUtcNow(); left > TimeSpan.Zero; left = due - _time.GetUtcNow())
        {
            await Task.Delay(left < LongestNap ? left : LongestNap, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Claims the tick on a majority; when the claim is ours, hands it to the worker (or skips an overlap).</summary>
    private async Task FireAsync(DateTimeOffset tick, bool isCatchUp, CancellationToken cancellationToken)
    {
        LockRecordWrite? claim = null;
        try
        {
            claim = await ClaimAsync(tick, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _runner.Report(_job, tick, CronTickOutcome.MissedLeadershipLost, _term, isCatchUp, "the term ended while the tick was being claimed");
            throw;
        }

        switch (claim.Outcome)
        {
            case LockRecordWriteOutcome.Written:
                // missed ticks caught up by a new leader are a backlog, not an overlap: they run in order, and a tick
                // that falls due while that backlog is still running waits behind it instead of being skipped
                if (isCatchUp)
                {
                    Interlocked.Increment(ref _catchUpPending);
                }

                if (Interlocked.Increment(ref _pending) > 1 && _job.Options.Overlap == CronOverlap.Skip && !isCatchUp && Volatile.Read(ref _catchUpPending) == 0)
                {
                    Interlocked.Decrement(ref _pending);
                    _runner.Report(_job, tick, CronTickOutcome.SkippedOverlap, _term, isCatchUp, "the previous run is still going");
                    return;
                }

                _queue.Writer.TryWrite((tick, isCatchUp));
                return;
            case LockRecordWriteOutcome.TakenByOther:
                _runner.Report(_job, tick, CronTickOutcome.ClaimedElsewhere, _term, isCatchUp, "claimed by epoch|replica " + claim.OtherValue);
                return;
            case LockRecordWriteOutcome.NotHolder:
                _runner.Report(_job, tick, CronTickOutcome.MissedLeadershipLost, _term, isCatchUp, "the leader lock is no longer ours on a majority");
                return;
            default:
                _runner.Report(_job, tick, CronTickOutcome.MissedQuorumUnavailable, _term, isCatchUp,
                    $"claimed on {claim.Confirmed} node(s); failed: {claim.DescribeFailures()}");
                return;
        }
    }

    /// <summary>How long a tick's claim marker is kept: the misfire grace, two leases and a minute.</summary>
    private TimeSpan MarkerRetention => _runner.GraceFor(_job) + _runner.LeaseDuration + _runner.LeaseDuration + TimeSpan.FromMinutes(1);

    private async Task<LockRecordWrite> ClaimAsync(DateTimeOffset tick, CancellationToken cancellationToken)
    {
        var grace = _runner.GraceFor(_job);
        var markerRetention = MarkerRetention;
        var lastRetention = TimeSpan.FromDays(1) > markerRetention + grace ? TimeSpan.FromDays(1) : markerRetention + grace;
        var tickMs = tick.ToUnixTimeMilliseconds();
        var claim = new LockRecordClaim($"tick:{_job.Name}:{tickMs}", ClaimValue, tickMs, HighWaterName)
        {
            Retention = markerRetention,
            HighWaterRetention = lastRetention,
            MaxAttempts = 3,

            // nobody claims a tick before it is due, allowing a lease of clock skew between replicas: a node that lost
            // its data before then still answers for this tick (restart quarantine keeps it out of older ones)
            NotBefore = tick - _runner.LeaseDuration,
        };
        return await _runner.Locks.Records.ClaimAsync(_term.Lock, claim, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs claimed ticks one at a time, in order.</summary>
    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        await foreach (var (tick, isCatchUp) in _queue.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    _runner.Report(_job, tick, CronTickOutcome.MissedLeadershipLost, _term, isCatchUp, "the term ended before the run started");
                    continue;
                }

                await RunOnceAsync(tick, isCatchUp, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                // in this order: a tick that still sees the run pending also still sees it as catch-up
                Interlocked.Decrement(ref _pending);
                if (isCatchUp)
                {
                    Interlocked.Decrement(ref _catchUpPending);
                }
            }
        }
    }

    private async Task RunOnceAsync(DateTimeOffset tick, bool isCatchUp, CancellationToken cancellationToken)
    {
        var context = new CronJobContext(_job.Name, tick, _term.Epoch, _term.Identity, isCatchUp);
        using var span = HostingTelemetry.StartTick(_job.Name, tick, _term.Epoch, isCatchUp);
        try
        {
            var pipeline = _job.Options.Retry ?? ResiliencePipeline.Empty;
            await pipeline.ExecuteAsync(
                static async (state, token) => await state.Job.Run(state.Context, token).ConfigureAwait(false),
                (Job: _job, Context: context),
                cancellationToken).ConfigureAwait(false);
            HostingTelemetry.TickOutcome(span, nameof(CronTickOutcome.Ran));
            _runner.Report(_job, tick, CronTickOutcome.Ran, _term, isCatchUp);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            HostingTelemetry.TickOutcome(span, nameof(CronTickOutcome.Cancelled));
            _runner.Report(_job, tick, CronTickOutcome.Cancelled, _term, isCatchUp, "leadership ended during the run");
        }
        catch (Exception ex)
        {
            HostingTelemetry.TickOutcome(span, nameof(CronTickOutcome.Failed), ex);
            _runner.Report(_job, tick, CronTickOutcome.Failed, _term, isCatchUp, ex.GetType().Name + ": " + ex.Message, ex);
        }
    }

    private static string Describe(TimeSpan span) =>
        span < TimeSpan.FromSeconds(120) ? $"{span.TotalSeconds:0.#} s" : span < TimeSpan.FromHours(2) ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalHours:0.#} h";
}
