using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.Election;
using RedLockNet.Idempotency;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>
/// Adds RedLockNet features to one instance registered by <c>AddRedLock</c> (the default one, or a named one whose
/// services are keyed by its name): cron jobs that run on one replica, leader election with long-running work, and
/// idempotent processing.
/// </summary>
public sealed class RedLockBuilder
{
    private readonly RedLockInstance _instance;
    private readonly HashSet<string> _jobNames = new(StringComparer.Ordinal);
    private readonly List<CronJobRegistration> _jobs = [];
    private readonly HashSet<string> _electionGroups = new(StringComparer.Ordinal);
    private CronRunnerOptions? _cron;
    private int _lambdaJobs;

    internal RedLockBuilder(IServiceCollection services, RedLockInstance instance)
    {
        Services = services;
        _instance = instance;
    }

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The instance's name; null for the default instance.</summary>
    public string? Name => _instance.Name;

    private CronRunnerOptions CronOptions => _cron ??= new CronRunnerOptions();

    /// <summary>Configures the cron runner: the election among replicas (group <c>cron</c> unless set) and the misfire grace.</summary>
    public RedLockBuilder ConfigureCron(Action<CronRunnerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(CronOptions);
        return this;
    }

    /// <summary>
    /// Runs <typeparamref name="TJob"/> (resolved in a new scope per tick, registered as scoped if it is not yet) on
    /// <paramref name="cronExpression"/>, on exactly one replica. Its name is the type's full name.
    /// </summary>
    /// <exception cref="ArgumentException">The expression is not valid cron (checked now, not at startup).</exception>
    public RedLockBuilder AddCronJob<TJob>(string cronExpression, TimeZoneInfo? timeZone = null, Action<CronJobOptions>? configure = null)
        where TJob : class, ICronJob
    {
        var name = typeof(TJob).FullName ?? typeof(TJob).Name;
        Services.TryAddScoped<TJob>();
        return Add(name, cronExpression, timeZone, configure, sp => (context, ct) => Scoped.RunAsync<TJob>(sp, job => job.RunAsync(context, ct)));
    }

    /// <summary>
    /// Runs <paramref name="job"/> on <paramref name="cronExpression"/>, on exactly one replica. It is named after its
    /// expression and registration order; use the overload with a name when you register several.
    /// </summary>
    public RedLockBuilder AddCronJob(string cronExpression, Func<CronJobContext, CancellationToken, Task> job, TimeZoneInfo? timeZone = null, Action<CronJobOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(cronExpression);
        var name = $"{cronExpression.Trim()}#{++_lambdaJobs}";
        return AddCronJob(name, cronExpression, job, timeZone, configure);
    }

    /// <summary>Runs <paramref name="job"/>, named <paramref name="name"/> on every replica, on <paramref name="cronExpression"/>.</summary>
    public RedLockBuilder AddCronJob(string name, string cronExpression, Func<CronJobContext, CancellationToken, Task> job, TimeZoneInfo? timeZone = null, Action<CronJobOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Add(name, cronExpression, timeZone, configure, _ => job);
    }

    /// <summary>
    /// Tells <typeparamref name="TObserver"/> (a singleton, registered if it is not yet) how each tick of this
    /// instance's cron jobs settled on this replica: ran, failed, cancelled, skipped, claimed by another term, missed
    /// and why.
    /// </summary>
    public RedLockBuilder AddCronTickObserver<TObserver>()
        where TObserver : class, ICronTickObserver
    {
        Services.TryAddSingleton<TObserver>();
        if (_instance.Name is null)
        {
            Services.AddSingleton<ICronTickObserver>(sp => sp.GetRequiredService<TObserver>());
        }
        else
        {
            Services.AddKeyedSingleton<ICronTickObserver>(_instance.Name, (sp, _) => sp.GetRequiredService<TObserver>());
        }

        return this;
    }

    /// <summary>
    /// Registers an <see cref="IdempotentProcessor"/> over this instance's locks (a singleton: inject it into handlers;
    /// keyed by the instance's name for a named instance). Its options are named options of the instance, checked when
    /// the host starts.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already registered for this instance.</exception>
    public RedLockBuilder AddIdempotency(Action<IdempotencyOptions>? configure = null)
    {
        if (_instance.IsRegistered<IdempotentProcessor>(Services))
        {
            throw new InvalidOperationException($"AddIdempotency was already called for {_instance.Describe}; configure it in one call.");
        }

        var options = Services.AddOptions<IdempotencyOptions>(_instance.OptionsName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        Services.AddSingleton<IValidateOptions<IdempotencyOptions>>(sp => new IdempotencyOptionsValidator(_instance, sp));
        _instance.AddSingleton(Services, sp => new IdempotentProcessor(
            _instance.Get<ILockFactoryWithRecords>(sp),
            sp.GetRequiredService<IOptionsMonitor<IdempotencyOptions>>().Get(_instance.OptionsName)));
        return this;
    }

    /// <summary>
    /// Campaigns in election <paramref name="group"/> for the host's lifetime and runs <paramref name="work"/> for each
    /// term this replica wins: long-running work that one replica at a time must do (own a partition). The work's token
    /// fires when the term ends (before the lease can expire) or the host stops; the next term runs it again.
    /// </summary>
    /// <param name="group">The election's name: the same on every replica that competes.</param>
    /// <param name="work">The leader's work for one term.</param>
    /// <param name="configure">Timing, identity and the other callbacks (the group and the leading callback are this call's).</param>
    /// <exception cref="ArgumentException">The group is not a valid resource, is already registered for this instance, or <paramref name="configure"/> changed it or set the leading callback.</exception>
    public RedLockBuilder AddLeaderElection(string group, Func<LeadershipTerm, CancellationToken, Task> work, Action<LeaderElectionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        return AddElection(group, configure, _ => work);
    }

    /// <summary>
    /// As <see cref="AddLeaderElection(string, Func{LeadershipTerm, CancellationToken, Task}, Action{LeaderElectionOptions}?)"/>,
    /// with <typeparamref name="TWork"/> resolved in a new scope for each term won (registered as scoped if it is not yet).
    /// </summary>
    public RedLockBuilder AddLeaderElection<TWork>(string group)
        where TWork : class, ILeaderWork => AddLeaderElection<TWork>(group, static _ => { });

    /// <summary>As <see cref="AddLeaderElection{TWork}(string)"/>, with the election's timing, identity and other callbacks.</summary>
    public RedLockBuilder AddLeaderElection<TWork>(string group, Action<LeaderElectionOptions> configure)
        where TWork : class, ILeaderWork
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.TryAddScoped<TWork>();
        return AddElection(group, configure, sp => (term, ct) => Scoped.RunAsync<TWork>(sp, work => work.RunAsync(term, ct)));
    }

    private RedLockBuilder AddElection(string group, Action<LeaderElectionOptions>? configure, Func<IServiceProvider, Func<LeadershipTerm, CancellationToken, Task>> work)
    {
        LockResources.Validate(group, nameof(group));
        var options = new LeaderElectionOptions { Group = group };
        configure?.Invoke(options);
        if (!string.Equals(options.Group, group, StringComparison.Ordinal))
        {
            throw new ArgumentException($"configure changed the group to '{options.Group}'; the group is AddLeaderElection's first argument ('{group}').", nameof(configure));
        }

        if (options.OnStartedLeading is not null)
        {
            throw new ArgumentException("configure set OnStartedLeading; the leader's work is AddLeaderElection's work argument.", nameof(configure));
        }

        if (!_electionGroups.Add(group))
        {
            throw new ArgumentException($"An election in group '{group}' is already registered for {_instance.Describe}; a process campaigns once per group.", nameof(group));
        }

        Services.AddSingleton<IHostedService>(sp =>
        {
            var election = options.Clone();
            election.OnStartedLeading = work(sp);
            return new LeaderElectionHostedService(_instance.Get<RedLockConnection>(sp), election);
        });
        return this;
    }

    private RedLockBuilder Add(string name, string cronExpression, TimeZoneInfo? timeZone, Action<CronJobOptions>? configure, Func<IServiceProvider, Func<CronJobContext, CancellationToken, Task>> run)
    {
        var options = new CronJobOptions();
        configure?.Invoke(options);
        // validate now, so a typo fails at registration with the parameter's name
        _ = CronJob.Create(name, cronExpression, static (_, _) => Task.CompletedTask, timeZone, options);
        if (!_jobNames.Add(name))
        {
            throw new ArgumentException($"A job named '{name}' is already registered; ticks are claimed by job name, so names must be unique.", nameof(name));
        }

        _jobs.Add(new CronJobRegistration(sp => CronJob.Create(name, cronExpression, run(sp), timeZone, options)));
        if (_jobs.Count == 1)
        {
            // one runner per instance, for all its jobs
            Services.AddSingleton<IHostedService>(sp => new CronHostedService(
                _instance.Get<RedLockConnection>(sp), _jobs, CronOptions, [.. _instance.GetAll<ICronTickObserver>(sp)], sp));
        }

        return this;
    }
}
