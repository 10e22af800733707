using Microsoft.Extensions.Diagnostics.HealthChecks;
using RedLockNet.Hosting.DependencyInjection;
using RedLockNet.Hosting.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a health check over the nodes of a RedLockNet instance registered with <c>AddRedLock</c>.</summary>
public static class RedLockHealthChecksBuilderExtensions
{
    /// <summary>The registration name of the check of the default instance; a named instance's check is <c>redlock:{name}</c>.</summary>
    public const string DefaultRegistrationName = "redlock";

    /// <summary>
    /// Adds a check that sends one round trip (PING) to every node of a RedLockNet instance: <see cref="HealthStatus.Healthy"/>
    /// when every node answers within <paramref name="slowThreshold"/>; <see cref="HealthStatus.Degraded"/> while a
    /// majority can still vote but a node is down, slow or in restart quarantine; <paramref name="failureStatus"/>
    /// (default <see cref="HealthStatus.Unhealthy"/>) when fewer than a majority can vote, so no lock can be taken.
    /// The result's data has one entry per node, keyed by endpoint (host:port, never credentials): state
    /// (<c>up</c>, <c>slow</c>, <c>timeout</c>, <c>unreachable</c>, <c>error</c>, <c>quarantined</c>), latency and
    /// quarantine time left.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">
    /// The RedLockNet instance: null for the default one (<see cref="RedLockConnection"/>), else the key of a named
    /// instance (the keyed <see cref="RedLockConnection"/> service). The check is registered as <c>redlock</c>, or
    /// <c>redlock:{name}</c> for a named instance.
    /// </param>
    /// <param name="failureStatus">The status without a majority; default <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by (e.g. <c>ready</c>).</param>
    /// <param name="timeout">How long to wait for the connection, and then for each node; default 1 s. A node slower than that counts as down.</param>
    /// <param name="slowThreshold">A node that answers more slowly than this degrades the result; default 100 ms. Keep it below <see cref="RedLockNet.RedLockOptions.NodeTimeout"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is not positive, or <paramref name="slowThreshold"/> is negative.</exception>
    public static IHealthChecksBuilder AddRedLock(
        this IHealthChecksBuilder builder,
        string? name = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null,
        TimeSpan? slowThreshold = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (name is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
        }

        var settings = new RedLockHealthCheckSettings(timeout ?? TimeSpan.FromSeconds(1), slowThreshold ?? TimeSpan.FromMilliseconds(100));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(settings.Timeout, TimeSpan.Zero, nameof(timeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.SlowThreshold, TimeSpan.Zero, nameof(slowThreshold));
        var registrationName = name is null ? DefaultRegistrationName : DefaultRegistrationName + ":" + name;
        return builder.Add(new HealthCheckRegistration(
            registrationName,
            sp => new RedLockHealthCheck(
                name is null ? sp.GetRequiredService<RedLockConnection>() : sp.GetRequiredKeyedService<RedLockConnection>(name),
                settings,
                sp.GetService<TimeProvider>() ?? TimeProvider.System),
            failureStatus,
            tags));
    }
}
