using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RedLockNet.Hosting.Cron;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>A job registered in the container, before the runner exists.</summary>
internal sealed record CronJobRegistration(Func<IServiceProvider, CronJob> Create);

/// <summary>Runs the registered jobs with a <see cref="CronRunner"/> for the host's lifetime; stopping releases leadership.</summary>
internal sealed class CronHostedService(
    RedLockConnection connection,
    IEnumerable<CronJobRegistration> registrations,
    CronRunnerOptions options,
    IServiceProvider services) : BackgroundService
{
    private CronRunner? _runner;

    /// <summary>The runner, once the host has started it.</summary>
    public CronRunner? Runner => Volatile.Read(ref _runner);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var factory = await connection.GetFactoryAsync(stoppingToken).ConfigureAwait(false);
        var runner = new CronRunner(factory, registrations.Select(r => r.Create(services)), options);
        Volatile.Write(ref _runner, runner);
        await runner.RunAsync(stoppingToken).ConfigureAwait(false);
    }
}

/// <summary>Runs an <see cref="ICronJob"/> in a fresh dependency-injection scope per tick.</summary>
internal static class ScopedJob
{
    public static Func<CronJobContext, CancellationToken, Task> For<TJob>(IServiceProvider services)
        where TJob : class, ICronJob =>
        async (context, cancellationToken) =>
        {
            var scope = services.CreateAsyncScope();
            await using (scope.ConfigureAwait(false))
            {
                var job = scope.ServiceProvider.GetRequiredService<TJob>();
                await job.RunAsync(context, cancellationToken).ConfigureAwait(false);
            }
        };
}
