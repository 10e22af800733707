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
    /// <summary>A standby campaigns every [1, 1 + this) x the retry period, as in Kubernetes, so standbys drift apart.</summary>
    private const double CampaignSpread = 0.2;

    private readonly RedLockFactory _locks;
    private readonly LeaderElectionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ElectorContext _context;
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
        _context = new ElectorContext(_options, Identity, locks.Records, _time, _logger, Observed);
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
                        new LockRequest { Expiry = _options.LeaseDuration, AutoRenew = false, WaitTimeout = TimeSpan.Zero, FencingOnAcquire = true },
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

    /// <summary>Leads one term of the lock just acquired, publishing it as the current term while it lasts.</summary>
    private async Task LeadAsync(ILockHandle handle, long acquireStarted, CancellationToken stop)
    {
        await using var lifecycle = new LeadershipTermLifecycle(_context, handle, acquireStarted, stop);
        Volatile.Write(ref _term, lifecycle.Term);
        try
        {
            await lifecycle.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _term, null);
        }
    }

    /// <summary>A standby reads the leader record (the newest epoch among the answers) and reports a change.</summary>
    private async Task ObserveAsync(CancellationToken cancellationToken)
    {
        LockRecordRead read;
        try
        {
            read = await _locks.Records.ReadAsync(_options.Group, LeaderRecord.RecordName, _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
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

            _context.Invoke(_options.OnNewLeader, leader);
        }
    }

    private static string DefaultIdentity() =>
        string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}/{Environment.ProcessId}/{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2))}");
}
