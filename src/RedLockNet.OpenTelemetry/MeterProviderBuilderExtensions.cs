using RedLockNet.Diagnostics;

namespace OpenTelemetry.Metrics;

/// <summary>
/// Subscribes an OpenTelemetry meter provider to RedLockNet's meter (<see cref="RedLockTelemetry.Name"/>).
/// RedLockNet.Hosting adds its instruments to the same meter, so this covers both libraries.
/// </summary>
public static class RedLockMeterProviderBuilderExtensions
{
    /// <summary>
    /// Records RedLockNet's metrics (<c>redlock.acquire.attempts</c>, <c>redlock.acquire.duration</c>,
    /// <c>redlock.leases.active</c>, <c>redlock.lock.lost</c>, ...) and from RedLockNet.Hosting
    /// <c>redlock.leader.terms</c> and <c>redlock.cron.ticks</c>.
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static MeterProviderBuilder AddRedLockInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(RedLockTelemetry.Name);
    }
}
