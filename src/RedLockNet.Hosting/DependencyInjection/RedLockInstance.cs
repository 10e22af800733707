using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>
/// One <c>AddRedLock</c> registration: the default instance (unkeyed services, default named options) or a named one
/// (services keyed by the name, options named by it). Everything a builder adds for an instance goes through here, so
/// the default and the named instances are registered and resolved alike.
/// </summary>
internal sealed class RedLockInstance
{
    private RedLockInstance(string? name) => Name = name;

    /// <summary>The default instance.</summary>
    public static RedLockInstance Default { get; } = new(null);

    /// <summary>The instance's name; null for the default one.</summary>
    public string? Name { get; }

    /// <summary>The name of its options (<see cref="Options.DefaultName"/> for the default instance).</summary>
    public string OptionsName => Name ?? Options.DefaultName;

    /// <summary>How error messages name the registration.</summary>
    public string Describe => Name is null ? "AddRedLock" : $"AddRedLock(\"{Name}\")";

    /// <summary>A named instance.</summary>
    /// <exception cref="ArgumentException">The name is empty or white space.</exception>
    public static RedLockInstance Named(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new RedLockInstance(name);
    }

    /// <summary>Registers a singleton of this instance: unkeyed for the default instance, keyed by the name otherwise.</summary>
    public void AddSingleton<T>(IServiceCollection services, Func<IServiceProvider, T> create)
        where T : class
    {
        if (Name is null)
        {
            services.AddSingleton(create);
        }
        else
        {
            services.AddKeyedSingleton(Name, (sp, _) => create(sp));
        }
    }

    /// <summary>This instance's <typeparamref name="T"/>.</summary>
    public T Get<T>(IServiceProvider services)
        where T : notnull =>
        Name is null ? services.GetRequiredService<T>() : services.GetRequiredKeyedService<T>(Name);

    /// <summary>Every <typeparamref name="T"/> registered for this instance.</summary>
    public IEnumerable<T> GetAll<T>(IServiceProvider services) =>
        Name is null ? services.GetServices<T>() : services.GetKeyedServices<T>(Name);

    /// <summary>Whether <paramref name="services"/> already hold a <typeparamref name="T"/> of this instance.</summary>
    public bool IsRegistered<T>(IServiceCollection services) =>
        services.Any(d => d.ServiceType == typeof(T) && (Name is null ? !d.IsKeyedService : d.IsKeyedService && Equals(d.ServiceKey, Name)));
}
