using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using RedLockNet.Hosting.Cron;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>Adds RedLockNet features to a service collection: cron jobs that run on one replica.</summary>
public sealed class RedLockBuilder
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _lambdaJobs;

    internal RedLockBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Configures the cron runner: the election among replicas and the misfire grace.</summary>
    public RedLockBuilder ConfigureCron(Action<CronRunnerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(CronOptions());
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
        return Add(name, cronExpression, timeZone, configure, ScopedJob.For<TJob>);
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

    private RedLockBuilder Add(string name, string cronExpression, TimeZoneInfo? timeZone, Action<CronJobOptions>? configure, Func<IServiceProvider, Func<CronJobContext, CancellationToken, Task>> run)
    {
        var options = new CronJobOptions();
        configure?.Invoke(options);
        // validate now, so a typo fails at registration with the parameter's name
        _ = CronJob.Create(name, cronExpression, static (_, _) => Task.CompletedTask, timeZone, options);
        if (!_names.Add(name))
        {
            throw new ArgumentException($"A job named '{name}' is already registered; ticks are claimed by job name, so names must be unique.", nameof(name));
        }

        Services.AddSingleton(new CronJobRegistration(sp => CronJob.Create(name, cronExpression, run(sp), timeZone, options)));
        CronOptions();
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, CronHostedService>(sp => sp.GetRequiredService<CronHostedService>()));
        Services.TryAddSingleton<CronHostedService>();
        return this;
    }

    private CronRunnerOptions CronOptions()
    {
        if (Services.FirstOrDefault(d => d.ServiceType == typeof(CronRunnerOptions))?.ImplementationInstance is CronRunnerOptions existing)
        {
            return existing;
        }

        var created = new CronRunnerOptions();
        Services.AddSingleton(created);
        return created;
    }
}
