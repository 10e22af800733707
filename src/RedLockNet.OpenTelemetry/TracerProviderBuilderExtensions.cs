using RedLockNet.Diagnostics;

namespace OpenTelemetry.Trace;

/// <summary>
/// Subscribes an OpenTelemetry tracer provider to RedLockNet's activity source (<see cref="RedLockTelemetry.Name"/>).
/// RedLockNet.Hosting publishes on the same source, so this covers both libraries.
/// </summary>
public static class RedLockTracerProviderBuilderExtensions
{
    /// <summary>
    /// Records RedLockNet's spans: <c>redlock.acquire</c>, <c>redlock.extend</c> and <c>redlock.release</c> (client
    /// spans tagged with <c>redlock.resource</c>, <c>redlock.outcome</c> and the <c>redlock.votes.*</c> counts), and
    /// from RedLockNet.Hosting <c>redlock.leader.term</c> and <c>redlock.cron.tick</c>.
    /// </summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TracerProviderBuilder AddRedLockInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(RedLockTelemetry.Name);
    }
}
