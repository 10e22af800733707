namespace RedLockNet.Hosting.Cron;

/// <summary>
/// Hears how each tick settled on this replica (ran, failed, cancelled, skipped, claimed by another term, missed and
/// why): the container's way to <see cref="CronRunner.TickSettled"/>. Register one with
/// <c>AddCronTickObserver&lt;T&gt;()</c> on the builder <c>AddRedLock</c> returns (or as a singleton
/// <see cref="ICronTickObserver"/> for the default instance); every registered observer hears every tick of that
/// instance's runner.
/// </summary>
public interface ICronTickObserver
{
    /// <summary>
    /// Called synchronously on the runner's threads when a tick settles; keep it short (hand the tick to a queue for
    /// slow work). An exception is logged and does not reach the runner or the other observers.
    /// </summary>
    void OnTickSettled(CronTickEventArgs tick);
}
