using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RedLockNet.Hosting.Diagnostics;
using RedLockNet.Hosting.Election;
using RedLockNet.Hosting.Timing;

namespace RedLockNet.Hosting.Cron;

/// <summary>
/// Runs scheduled jobs on exactly one replica. Every replica registers the same jobs and runs a
/// <see cref="CronRunner"/>; they elect a leader, and only the leader schedules. Each tick is identified by its
/// scheduled time and claimed on a majority of nodes before it runs, so a tick runs at most once even when the
/// leader changes in the middle of it. Ticks missed while no replica led run once on the next leader within the
/// misfire grace.
/// </summary>
public sealed class CronRunner
{
    /// <summary>The pause after a job loop's first fault; it doubles (jittered) with each fault in a row.</summary>
    private static readonly TimeSpan FirstRestartPause = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest pause between restarts of a faulting job loop.</summary>
    private static readonly TimeSpan LongestRestartPause = TimeSpan.FromSeconds(5);

    private readonly RedLockFactory _locks;
    private readonly CronRunnerOptions _options;
    private readonly Func<LeadershipTerm, CancellationToken, Task>? _userStarted;

    /// <summary>Creates a runner for <paramref name="jobs"/>; nothing is sent until <see cref="RunAsync"/>.</summary>
    /// <exception cref="ArgumentException">No jobs, two jobs with one name, or an option breaks a rule.</exception>
    public CronRunner(RedLockFactory locks, IEnumerable<CronJob> jobs, CronRunnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(locks);
        ArgumentNullException.ThrowIfNull(jobs);
        _locks = locks;
        _options = options ?? new CronRunnerOptions();
        _options.Validate();
        Jobs = [.. jobs];
        if (Jobs.Count == 0)
        {
            throw new ArgumentException("At least one job is required.", nameof(jobs));
        }

        for (var i = 0; i < Jobs.Count; i++)
        {
            if (Jobs[i] is null)
            {
                throw new ArgumentException($"Job {i} is null.", nameof(jobs));
            }
        }

        if (Jobs.GroupBy(j => j.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"Two jobs are named '{twice.Key}'; ticks are claimed by job name, so names must be unique.", nameof(jobs));
        }

        var election = _options.Election.Clone();
        election.Group = _options.Group;
        _userStarted = election.OnStartedLeading;
        election.OnStartedLeading = LeadAsync;
        Elector = new LeaderElector(locks, election);
        Logger = (election.LoggerFactory ?? locks.LoggerFactory).CreateLogger("RedLockNet.Hosting.CronRunner");
    }

    /// <summary>
    /// Raised (synchronously, on the runner's threads) when a tick settles on this replica: ran, failed, skipped,
    /// claimed by another term, or missed with the reason. Keep handlers short.
    /// </summary>
    public event EventHandler<CronTickEventArgs>? TickSettled;

    /// <summary>The election this runner campaigns in.</summary>
    public LeaderElector Elector { get; }

    /// <summary>The jobs, in registration order.</summary>
    public IReadOnlyList<CronJob> Jobs { get; }

    internal RedLockFactory Locks => _locks;

    internal ILogger Logger { get; }

    internal TimeProvider Time => _locks.TimeProvider;

    /// <summary>
    /// Campaigns and, while leading, runs the jobs, until <paramref name="cancellationToken"/> fires; then running
    /// jobs are cancelled and awaited and leadership is released so another replica takes over at once.
    /// </summary>
    public Task RunAsync(CancellationToken cancellationToken) => Elector.RunAsync(cancellationToken);

    internal TimeSpan GraceFor(CronJob job) => job.Options.MisfireGrace ?? _options.MisfireGrace;

    internal TimeSpan LeaseDuration => _options.Election.LeaseDuration;

    internal void Report(CronJob job, DateTimeOffset fireTime, CronTickOutcome outcome, LeadershipTerm? term, bool isCatchUp, string? detail = null, Exception? exception = null)
    {
        var outcomeName = outcome.ToString();
        HostingTelemetry.TickSettled(job.Name, outcomeName);
        var suffix = detail is null ? string.Empty : ": " + detail;
        if (outcome is CronTickOutcome.Failed)
        {
            HostingLog.JobFailed(Logger, job.Name, fireTime, Elector.Identity, term?.Epoch ?? 0, exception!);
        }
        else if (outcome is CronTickOutcome.MissedPastGrace or CronTickOutcome.MissedQuorumUnavailable or CronTickOutcome.MissedLeadershipLost)
        {
            HostingLog.TickMissed(Logger, job.Name, fireTime, outcomeName, suffix);
        }
        else if (Logger.IsEnabled(LogLevel.Information))
        {
            HostingLog.Tick(Logger, job.Name, fireTime, outcomeName, Elector.Identity, term?.Epoch ?? 0, suffix);
        }

        try
        {
            TickSettled?.Invoke(this, new CronTickEventArgs(job.Name, fireTime, outcome, Elector.Identity, term?.Epoch ?? 0, isCatchUp, detail, exception));
        }
        catch (Exception ex)
        {
            HostingLog.TickHandlerFailed(Logger, ex);
        }
    }

    private async Task LeadAsync(LeadershipTerm term, CancellationToken cancellationToken)
    {
        var loops = Jobs.Select(job => KeepScheduledAsync(job, term, cancellationToken)).ToList();
        if (_userStarted is { } started)
        {
            loops.Add(Task.Run(() => started(term, cancellationToken), CancellationToken.None));
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one job's loop for the term. Job failures never reach here; should the loop itself fault (say, too few
    /// nodes answer its catch-up read), it is logged and restarted (catching up from the last claimed tick) after a
    /// jittered back-off, rather than leaving a leader that runs nothing. The back-off starts over once a loop got
    /// through its catch-up.
    /// </summary>
    private async Task KeepScheduledAsync(CronJob job, LeadershipTerm term, CancellationToken cancellationToken)
    {
        var faults = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var loop = new JobRunLoop(this, job, term);
            try
            {
                await loop.RunAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                faults = loop.CaughtUp ? 1 : faults + 1;
                var pause = Jitter.Backoff(FirstRestartPause, LongestRestartPause, faults);
                HostingLog.ScheduleFaulted(Logger, job.Name, pause.TotalSeconds, ex);
                try
                {
                    await Task.Delay(pause, Time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
