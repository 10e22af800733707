using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>Registers RedLockNet in a service collection.</summary>
public static class RedLockServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="RedLockConnection"/> (connected when the host starts) and
    /// <see cref="IDistributedLockFactory"/>. The logger factory defaults to the container's.
    /// </summary>
    public static RedLockBuilder AddRedLock(this IServiceCollection services, Action<RedLockOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddRedLock((_, options) => configure(options));
    }

    /// <summary>As <see cref="AddRedLock(IServiceCollection, Action{RedLockOptions})"/>, with the service provider (to read configuration).</summary>
    public static RedLockBuilder AddRedLock(this IServiceCollection services, Action<IServiceProvider, RedLockOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        if (services.Any(d => d.ServiceType == typeof(RedLockConnection)))
        {
            throw new InvalidOperationException("AddRedLock was already called on this service collection; call it once.");
        }

        services.AddSingleton(sp =>
        {
            var options = new RedLockOptions { LoggerFactory = sp.GetService<ILoggerFactory>() };
            configure(sp, options);
            return new RedLockConnection(options);
        });
        services.AddSingleton<IDistributedLockFactory>(sp => new ConnectedLockFactory(sp.GetRequiredService<RedLockConnection>()));
        // first among the hosted services, so the host fails to start on bad configuration before jobs are scheduled
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, RedLockConnection>(sp => sp.GetRequiredService<RedLockConnection>()));
        return new RedLockBuilder(services);
    }
}
