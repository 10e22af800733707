using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RedLockNet.Hosting.Diagnostics;
using RedLockNet.Hosting.Timing;

namespace RedLockNet.Hosting.Election;

/// <summary>
/// Elects one leader among the replicas that run the same group. The leader holds a lock renewed every
/// <see cref="LeaderElectionOptions.RetryPeriod"/>; the others campaign on a jittered retry period. The leader's work
/// (<see cref="LeaderElectionOptions.OnStartedLeading"/>) is cancelled when a renewal is refused, when none was
/// confirmed within the renew deadline, or when the lock's own lost token fires, whichever comes first, so it stops
/// before the lease can expire. Each term's epoch is the lock's fencing token.
/// </summary>
public sealed class LeaderElector
{
    private const string RecordName = "leader";

    /// <summary>A standby campaigns every [1, 1 + this) x the retry period, as in Kubernetes, so standbys drift apart.</summary>
    private const double CampaignSpread = 0.2;

    private readonly RedLockFactory _locks;
    private readonly LeaderElectionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private LeadershipTerm? _term;
    private string? _observedLeader;
    private int _running;

    /// <summary>Creates an elector; nothing is sent until <see cref="RunAsync"/>.</summary>
    /// <exception cref="ArgumentException">An option breaks a rule (the parameter name says which).</exception>
    public LeaderElector(RedLockFactory locks, LeaderElectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(locks);
        ArgumentNullException.ThrowIfNull(options);
        _locks = locks;
        _options = options.Clone();
        _options.Validate(locks);
        Identity = _options.Identity ?? DefaultIdentity();
        _time = locks.TimeProvider;
        _logger = (_options.LoggerFactory ?? locks.LoggerFactory).CreateLogger("RedLockNet.Hosting.LeaderElector");
    }

    /// <summary>This replica's identity.</summary>
    public string Identity { get; }

    /// <summary>The election group.</summary>
    public string Group => _options.Group;

    /// <summary>Whether this replica leads now (its current term is active).</summary>
    public bool IsLeader => Volatile.Read(ref _term) is { IsActive: true };

    /// <summary>The current term while this replica leads; null otherwise.</summary>
    public LeadershipTerm? CurrentTerm => Volatile.Read(ref _term) is { IsActive: true } term ? term : null;

    /// <summary>The leader this replica last observed (itself included); null before any was seen.</summary>
    public string? ObservedLeader => Volatile.Read(ref _observedLeader);

    /// <summary>
    /// Campaigns, leads when elected, and campaigns again after a term ends, until <paramref name="cancellationToken"/>
    /// fires. Then the current term's work is cancelled and awaited, and the lock is released (see
    /// <see cref="LeaderElectionOptions.ReleaseOnStop"/>). Returns normally on cancellation, and when the factory is
    /// disposed under it (logged).
    /// </summary>
    /// <exception cref="InvalidOperationException">The elector is already running.</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            throw new InvalidOperationException("This elector is already running; create one elector per campaign.");
        }

        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var started = _time.GetTimestamp();
                ILockHandle? handle = null;
                try
                {
                    handle = await _locks.TryAcquireAsync(
                        _options.Group,
                        new LockRequest { Expiry = _options.LeaseDuration, AutoRenew = false, WaitTimeout = TimeSpan.Zero },
                        cancellationToken).ConfigureAwait(false);
                }
                catch (QuorumUnavailableException ex)
                {
                    HostingLog.CampaignUnavailable(_logger, _options.Group, ex.Message);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    HostingLog.FactoryDisposed(_logger, _options.Group);
                    return; // the factory was disposed under us: the process is shutting down
                }

                if (handle is not null)
                {
                    await LeadAsync(handle, started, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await ObserveAsync(cancellationToken).ConfigureAwait(false);
                }

                try
                {
                    await Task.Delay(Jitter.Stretch(_options.RetryPeriod, CampaignSpread), _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private async Task LeadAsync(ILockHandle handle, long acquireStarted, CancellationToken stop)
    {
        using var termCts = CancellationTokenSource.CreateLinkedTokenSource(handle.LostToken, stop);
        var term = new LeadershipTerm(_options.Group, Identity, handle, _time.GetUtcNow(), termCts.Token);
        var ending = new TermEnding(termCts);
        await using var deadline = _time.CreateTimer(
            static state => ((TermEnding)state!).End(LeadershipEndReason.RenewDeadlineExceeded), ending,
            Remaining(acquireStarted), Timeout.InfiniteTimeSpan);

        Volatile.Write(ref _term, term);
        HostingTelemetry.TermStarted(_options.Group);
        if (_logger.IsEnabled(LogLevel.Information))
        {
            HostingLog.StartedLeading(_logger, Identity, _options.Group, term.Epoch);
        }

        await WriteRecordAsync(handle, term.Epoch, termCts.Token).ConfigureAwait(false);
        Observed(Identity);
        var work = _options.OnStartedLeading is { } onStarted
            ? Task.Run(() => onStarted(term, termCts.Token), CancellationToken.None)
            : Task.CompletedTask;

        await RenewWhileLeadingAsync(handle, deadline, ending, termCts.Token).ConfigureAwait(false);

        // the term is over: record why, stop the work, wait for it, then let go of the lock
        var why = stop.IsCancellationRequested ? LeadershipEndReason.Stopped
            : handle.LostToken.IsCancellationRequested ? LeadershipEndReason.LockLost
            : LeadershipEndReason.RenewDeadlineExceeded;
        ending.End(why);
        term.EndReason = ending.Reason ?? why;
        HostingTelemetry.TermEnded(_options.Group, term.EndReason.Value.ToString());
        try
        {
            await work.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (termCts.IsCancellationRequested)
        {
            // the work honoured the end of the term
        }
        catch (Exception ex)
        {
            HostingLog.CallbackFailed(_logger, _options.Group, ex);
        }

        await LetGoAsync(handle, term).ConfigureAwait(false);
        Volatile.Write(ref _term, null);
        Invoke(_options.OnStoppedLeading, term);
    }

    /// <summary>Renews every retry period until the term ends; a confirmed renewal pushes the renew deadline out.</summary>
    private async Task RenewWhileLeadingAsync(ILockHandle handle, ITimer deadline, TermEnding ending, CancellationToken term)
    {
        while (!term.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.RetryPeriod, _time, term).ConfigureAwait(false);
                var started = _time.GetTimestamp();
                if (!await handle.ExtendAsync(null, term).ConfigureAwait(false))
                {
                    ending.End(LeadershipEndReason.LockLost);
                    return;
                }

                deadline.Change(Remaining(started), Timeout.InfiniteTimeSpan);
                await WriteRecordAsync(handle, handle.FencingToken, term).ConfigureAwait(false);
            }
            catch (QuorumUnavailableException ex)
            {
                HostingLog.RenewalUnconfirmed(_logger, _options.Group, ex.Message); // the deadline timer decides
            }
            catch (OperationCanceledException) when (term.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task LetGoAsync(ILockHandle handle, LeadershipTerm term)
    {
        if (term.EndReason == LeadershipEndReason.Stopped && !_options.ReleaseOnStop)
        {
            return; // the lock expires with its lease
        }

        try
        {
            await handle.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
            if (term.EndReason == LeadershipEndReason.Stopped && _logger.IsEnabled(LogLevel.Information))
            {
                HostingLog.ReleasedLeadership(_logger, Identity, _options.Group, term.Epoch);
            }
        }
        catch (Exception ex) when (ex is RedLockException or ObjectDisposedException)
        {
            HostingLog.ReleaseFailed(_logger, _options.Group, ex);
        }

        if (term.EndReason != LeadershipEndReason.Stopped)
        {
            HostingLog.StoppedLeading(_logger, Identity, _options.Group, term.Epoch, term.EndReason!.Value.ToString());
        }
    }

    /// <summary>Tells the standbys who leads: a record next to the lock, written only while the lock is ours.</summary>
    private async Task WriteRecordAsync(ILockHandle handle, long epoch, CancellationToken cancellationToken)
    {
        try
        {
            var value = new LeaderRecord(epoch, Identity).Format();
            await _locks.Records.WriteAsync(handle, RecordName, value, new LockRecordWriteOptions { Retention = _options.LeaseDuration }, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the term ended meanwhile
        }
    }

    /// <summary>A standby reads the leader record (the newest epoch among the answers) and reports a change.</summary>
    private async Task ObserveAsync(CancellationToken cancellationToken)
    {
        LockRecordRead read;
        try
        {
            read = await _locks.Records.ReadAsync(_options.Group, RecordName, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (LeaderRecord.Newest(read.Values) is { } leader)
        {
            Observed(leader.Identity);
        }
    }

    private void Observed(string leader)
    {
        if (Interlocked.Exchange(ref _observedLeader, leader) != leader)
        {
            if (_logger.IsEnabled(LogLevel.Information))
            {
                HostingLog.NewLeader(_logger, _options.Group, leader);
            }

            Invoke(_options.OnNewLeader, leader);
        }
    }

    private void Invoke<T>(Action<T>? callback, T argument)
    {
        try
        {
            callback?.Invoke(argument);
        }
        catch (Exception ex)
        {
            HostingLog.CallbackFailed(_logger, _options.Group, ex);
        }
    }

    /// <summary>Time left until the renew deadline of a renewal (or acquisition) that started at <paramref name="started"/>.</summary>
    private TimeSpan Remaining(long started)
    {
        var left = _options.RenewDeadline - _time.GetElapsedTime(started);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private static string DefaultIdentity() =>
        string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}/{Environment.ProcessId}/{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2))}");

    /// <summary>Ends a term once, remembering the first reason.</summary>
    private sealed class TermEnding(CancellationTokenSource term)
    {
        private int _reason = -1;

        public LeadershipEndReason? Reason => Volatile.Read(ref _reason) is var r and >= 0 ? (LeadershipEndReason)r : null;

        public void End(LeadershipEndReason reason)
        {
            if (Interlocked.CompareExchange(ref _reason, (int)reason, -1) == -1)
            {
                try
                {
                    term.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // the term is already over
                }
            }
        }
    }
}
