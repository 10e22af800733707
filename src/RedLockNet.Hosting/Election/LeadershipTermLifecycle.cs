using Microsoft.Extensions.Logging;
using RedLockNet.Hosting.Diagnostics;

namespace RedLockNet.Hosting.Election;

/// <summary>
/// Leads one term, from a freshly acquired lock to letting go of it: writes the leader record, starts the work
/// (<see cref="LeaderElectionOptions.OnStartedLeading"/>), renews every retry period (each confirmed renewal moves the
/// renew deadline out), ends the term once with the first reason (stop, lock lost, or deadline), awaits the work, then
/// releases the lock (or lets it expire) and reports the end.
/// </summary>
internal sealed class LeadershipTermLifecycle : IAsyncDisposable
{
    private readonly ElectorContext _elector;
    private readonly ILockHandle _handle;
    private readonly CancellationToken _stop;
    private readonly CancellationTokenSource _termCts;
    private readonly TermEnding _ending;
    private readonly RenewDeadlineTimer _deadline;

    /// <summary>
    /// Opens the term of <paramref name="handle"/>, acquired by an attempt that started at timestamp
    /// <paramref name="acquireStarted"/>; the renew deadline runs from then. <paramref name="stop"/> is the elector's stop.
    /// </summary>
    public LeadershipTermLifecycle(ElectorContext elector, ILockHandle handle, long acquireStarted, CancellationToken stop)
    {
        _elector = elector;
        _handle = handle;
        _stop = stop;
        _termCts = CancellationTokenSource.CreateLinkedTokenSource(handle.LostToken, stop);
        Term = new LeadershipTerm(Options.Group, elector.Identity, handle, elector.Time.GetUtcNow(), _termCts.Token);
        _ending = new TermEnding(_termCts);
        _deadline = new RenewDeadlineTimer(elector.Time, Options.RenewDeadline, acquireStarted, _ending);
    }

    /// <summary>The term; active until it ends.</summary>
    public LeadershipTerm Term { get; }

    private LeaderElectionOptions Options => _elector.Options;

    private ILogger Logger => _elector.Logger;

    /// <summary>Leads until the term ends, then stops the work, lets go of the lock and reports the end.</summary>
    public async Task RunAsync()
    {
        HostingTelemetry.TermStarted(Options.Group);
        using var span = HostingTelemetry.StartTerm(Options.Group, _elector.Identity, Term.Epoch);
        if (Logger.IsEnabled(LogLevel.Information))
        {
            HostingLog.StartedLeading(Logger, _elector.Identity, Options.Group, Term.Epoch);
        }

        await WriteRecordAsync().ConfigureAwait(false);
        _elector.LeaderSeen(_elector.Identity);
        var work = Options.OnStartedLeading is { } onStarted
            ? Task.Run(() => onStarted(Term, _termCts.Token), CancellationToken.None)
            : Task.CompletedTask;

        await RenewWhileLeadingAsync().ConfigureAwait(false);

        // the term is over: record why, stop the work, wait for it, then let go of the lock
        var why = _stop.IsCancellationRequested ? LeadershipEndReason.Stopped
            : _handle.LostToken.IsCancellationRequested ? LeadershipEndReason.LockLost
            : LeadershipEndReason.RenewDeadlineExceeded;
        _ending.End(why);
        Term.EndReason = _ending.Reason ?? why;
        HostingTelemetry.TermEnded(Options.Group, Term.EndReason.Value.ToString());
        HostingTelemetry.TermEnded(span, Term.EndReason.Value.ToString());
        try
        {
            await work.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_termCts.IsCancellationRequested)
        {
            // the work honoured the end of the term
        }
        catch (Exception ex)
        {
            HostingLog.CallbackFailed(Logger, Options.Group, ex);
        }

        await LetGoAsync().ConfigureAwait(false);
        _elector.Invoke(Options.OnStoppedLeading, Term);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _deadline.DisposeAsync().ConfigureAwait(false);
        _termCts.Dispose();
    }

    /// <summary>Renews every retry period until the term ends; a confirmed renewal pushes the renew deadline out.</summary>
    private async Task RenewWhileLeadingAsync()
    {
        var term = _termCts.Token;
        while (!term.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Options.RetryPeriod, _elector.Time, term).ConfigureAwait(false);
                var started = _elector.Time.GetTimestamp();
                if (!await _handle.ExtendAsync(null, term).ConfigureAwait(false))
                {
                    _ending.End(LeadershipEndReason.LockLost);
                    return;
                }

                _deadline.Renewed(started);
                await WriteRecordAsync().ConfigureAwait(false);
            }
            catch (QuorumUnavailableException ex)
            {
                HostingLog.RenewalUnconfirmed(Logger, Options.Group, ex.Message); // the deadline timer decides
            }
            catch (OperationCanceledException) when (term.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Tells the standbys who leads: a record next to the lock, written only while the lock is ours.</summary>
    private async Task WriteRecordAsync()
    {
        try
        {
            await _elector.Records.WriteAsync(
                _handle, LeaderRecord.RecordName, LeaderRecord.Of(Term).Format(),
                new LockRecordWriteOptions { Retention = Options.LeaseDuration }, _termCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_termCts.IsCancellationRequested)
        {
            // the term ended meanwhile
        }
    }

    /// <summary>Releases the lock (unless stopped with <see cref="LeaderElectionOptions.ReleaseOnStop"/> off) and logs the end.</summary>
    private async Task LetGoAsync()
    {
        var reason = Term.EndReason!.Value;
        if (reason == LeadershipEndReason.Stopped && !Options.ReleaseOnStop)
        {
            return; // the lock expires with its lease
        }

        try
        {
            await _handle.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
            if (reason == LeadershipEndReason.Stopped && Logger.IsEnabled(LogLevel.Information))
            {
                HostingLog.ReleasedLeadership(Logger, _elector.Identity, Options.Group, Term.Epoch);
            }
        }
        catch (Exception ex) when (ex is RedLockException or ObjectDisposedException)
        {
            HostingLog.ReleaseFailed(Logger, Options.Group, ex);
        }

        if (reason != LeadershipEndReason.Stopped)
        {
            HostingLog.StoppedLeading(Logger, _elector.Identity, Options.Group, Term.Epoch, reason.ToString());
        }
    }
}
