using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedLockNet;
using RedLockNet.Hosting.DependencyInjection;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers RedLockNet in a service collection: <see cref="RedLockConnection"/>, <see cref="IDistributedLockFactory"/>,
/// <see cref="ISemaphoreFactory"/>, <see cref="IReaderWriterLockFactory"/>, <see cref="IMultiLockFactory"/> and <see cref="ILockFactoryWithRecords"/> for the default instance (unkeyed) or a named one (keyed by its name),
/// with <see cref="RedLockOptions"/> as named options that are validated when the host starts.
/// </summary>
public static class RedLockServiceCollectionExtensions
{
    /// <summary>
    /// Registers the default instance with options bound from <paramref name="configuration"/> (a section such as
    /// <c>configuration.GetSection("RedLock")</c>: <c>Nodes</c> as an array, time spans as <c>"00:00:30"</c>, enums by
    /// name). A key that is no option, a value that does not convert, or an option that breaks a rule stops the host at
    /// start with the configuration key in the message (<c>RedLock:Nodes:2</c>). The logger factory and the clock
    /// default to the container's.
    /// </summary>
    /// <exception cref="InvalidOperationException">The default instance is already registered.</exception>
    public static RedLockBuilder AddRedLock(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return Add(services, RedLockInstance.Default, configuration, null);
    }

    /// <summary>
    /// Registers the default instance, configured by <paramref name="configure"/> (checked when the host starts). The
    /// logger factory and the clock default to the container's.
    /// </summary>
    /// <exception cref="InvalidOperationException">The default instance is already registered.</exception>
    public static RedLockBuilder AddRedLock(this IServiceCollection services, Action<RedLockOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return Add(services, RedLockInstance.Default, null, (_, options) => configure(options));
    }

    /// <summary>As <see cref="AddRedLock(IServiceCollection, Action{RedLockOptions})"/>, with the service provider (to read other services).</summary>
    /// <exception cref="InvalidOperationException">The default instance is already registered.</exception>
    public static RedLockBuilder AddRedLock(this IServiceCollection services, Action<IServiceProvider, RedLockOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return Add(services, RedLockInstance.Default, null, configure);
    }

    /// <summary>
    /// Registers instance <paramref name="name"/> (another set of nodes) with options bound from
    /// <paramref name="configuration"/>: its services are keyed by the name
    /// (<c>[FromKeyedServices("payments")] IDistributedLockFactory locks</c>), its options named by it.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or white space.</exception>
    /// <exception cref="InvalidOperationException">An instance of this name is already registered.</exception>
    public static RedLockBuilder AddRedLock(this IServiceCollection services, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return Add(services, RedLockInstance.Named(name), configuration, null);
    }

    /// <summary>Registers instance <paramref name="name"/>, configured by <paramref name="configure"/>; its services are keyed by the name.</summary>
    /// <exception cref="ArgumentException">The name is empty or white space.</exception>
    /// <exception cref="InvalidOperationException">An instance of this name is already registered.</exception>
    public static RedLockBuilder AddRedLock(this IServiceCollection services, string name, Action<RedLockOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return Add(services, RedLockInstance.Named(name), null, (_, options) => configure(options));
    }

    private static RedLockBuilder Add(IServiceCollection services, RedLockInstance instance, IConfiguration? configuration, Action<IServiceProvider, RedLockOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (instance.IsRegistered<RedLockConnection>(services))
        {
            throw new InvalidOperationException(
                $"{instance.Describe} was already called on this service collection; register each instance once (another set of nodes takes another name).");
        }

        var options = services.AddOptions<RedLockOptions>(instance.OptionsName)
            .Configure<IServiceProvider>(static (options, sp) =>
            {
                // the container's, unless the configuration below sets them
                options.LoggerFactory = sp.GetService<ILoggerFactory>();
                options.TimeProvider = sp.GetService<TimeProvider>() ?? TimeProvider.System;
            });
        if (configuration is not null)
        {
            options.Bind(configuration, binder => binder.ErrorOnUnknownConfiguration = true);
        }

        if (configure is not null)
        {
            options.Configure<IServiceProvider>((o, sp) => configure(sp, o));
        }

        options.ValidateOnStart();
        var sectionPath = configuration is null ? null : (configuration as IConfigurationSection)?.Path ?? string.Empty;
        services.AddSingleton<IValidateOptions<RedLockOptions>>(new RedLockOptionsValidator(instance, sectionPath));

        instance.AddSingleton(services, sp => new RedLockConnection(instance.Name ?? string.Empty, sp.GetRequiredService<IOptionsMonitor<RedLockOptions>>().Get(instance.OptionsName)));
        instance.AddSingleton<IDistributedLockFactory>(services, sp => instance.Get<RedLockConnection>(sp).Locks);
        instance.AddSingleton<ILockFactoryWithRecords>(services, sp => instance.Get<RedLockConnection>(sp).Locks);
        instance.AddSingleton<ISemaphoreFactory>(services, sp => instance.Get<RedLockConnection>(sp).Locks);
        instance.AddSingleton<IReaderWriterLockFactory>(services, sp => instance.Get<RedLockConnection>(sp).Locks);
        instance.AddSingleton<IMultiLockFactory>(services, sp => instance.Get<RedLockConnection>(sp).Locks);

        // first among the hosted services, so the host fails to start on bad configuration before jobs are scheduled
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(sp => instance.Get<RedLockConnection>(sp)));
        return new RedLockBuilder(services, instance);
    }
}
