using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.Diagnostics;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>A job registered in the container, before the runner exists.</summary>
internal sealed record CronJobRegistration(Func<IServiceProvider, CronJob> Create);

/// <summary>
/// Runs one instance's registered jobs with a <see cref="CronRunner"/> for the host's lifetime, telling the
/// instance's <see cref="ICronTickObserver"/>s how each tick settled; stopping releases leadership.
/// </summary>
internal sealed class CronHostedService(
    RedLockConnection connection,
    IReadOnlyList<CronJobRegistration> registrations,
    CronRunnerOptions options,
    IReadOnlyList<ICronTickObserver> observers,
    IServiceProvider services) : BackgroundService
{
    private CronRunner? _runner;

    /// <summary>The runner, once the host has started it.</summary>
    public CronRunner? Runner => Volatile.Read(ref _runner);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var factory = await connection.GetFactoryAsync(stoppingToken).ConfigureAwait(false);
        var runner = new CronRunner(factory, registrations.Select(r => r.Create(services)), options);
        foreach (var observer in observers)
        {
            runner.TickSettled += (_, tick) => Notify(runner, observer, tick);
        }

        Volatile.Write(ref _runner, runner);
        await runner.RunAsync(stoppingToken).ConfigureAwait(false);
    }

    /// <summary>One observer's failure is logged and kept from the runner and the other observers.</summary>
    private static void Notify(CronRunner runner, ICronTickObserver observer, CronTickEventArgs tick)
    {
        try
        {
            observer.OnTickSettled(tick);
        }
        catch (Exception ex)
        {
            HostingLog.TickObserverFailed(runner.Logger, observer.GetType().FullName ?? observer.GetType().Name, ex);
        }
    }
}

/// <summary>Runs a service in a fresh dependency-injection scope per call (a cron tick, a leadership term).</summary>
internal static class Scoped
{
    public static async Task RunAsync<TService>(IServiceProvider services, Func<TService, Task> run)
        where TService : notnull
    {
        var scope = services.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            await run(scope.ServiceProvider.GetRequiredService<TService>()).ConfigureAwait(false);
        }
    }
}
