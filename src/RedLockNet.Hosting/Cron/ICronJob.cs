namespace RedLockNet.Hosting.Cron;

/// <summary>A scheduled job resolved from dependency injection (a new scope per run).</summary>
public interface ICronJob
{
    /// <summary>Runs one tick. <paramref name="cancellationToken"/> fires when leadership ends or the host stops.</summary>
    Task RunAsync(CronJobContext context, CancellationToken cancellationToken);
}
