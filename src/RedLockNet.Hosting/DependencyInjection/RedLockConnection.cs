using Microsoft.Extensions.Hosting;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>
/// The <see cref="RedLockFactory"/> of one <c>AddRedLock</c> registration: connects when the host starts (so bad
/// configuration stops the host at once) or on first use, and is disposed with the container. Resolve it unkeyed for
/// the default instance, and keyed by its name (<c>GetRequiredKeyedService&lt;RedLockConnection&gt;("payments")</c>)
/// for a named one.
/// </summary>
public sealed class RedLockConnection : IHostedService, IAsyncDisposable, IDisposable
{
    private readonly RedLockOptions _options;
    private readonly Lock _gate = new();
    private Task<RedLockFactory>? _connecting;

    internal RedLockConnection(string name, RedLockOptions options)
    {
        Name = name;
        _options = options;
        Locks = new ConnectedLockFactory(this, options);
    }

    /// <summary>The instance's name: the one given to <c>AddRedLock(name, ...)</c>, empty for the default instance.</summary>
    public string Name { get; }

    /// <summary>The factory the container hands out: it waits for the connection, then delegates.</summary>
    internal ConnectedLockFactory Locks { get; }

    /// <summary>The connected factory; connects on the first call.</summary>
    public Task<RedLockFactory> GetFactoryAsync(CancellationToken cancellationToken = default)
    {
        Task<RedLockFactory> connecting;
        lock (_gate)
        {
            connecting = _connecting ??= RedLockFactory.ConnectAsync(_options, CancellationToken.None);
        }

        return connecting.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => GetFactoryAsync(cancellationToken);

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// For containers disposed synchronously: starts closing the connections without waiting (prefer
    /// <see cref="DisposeAsync"/>, which <c>IHost</c> uses).
    /// </summary>
    public void Dispose() => _ = DisposeAsync().AsTask().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);

    /// <summary>Closes the connections; held locks expire with their TTL.</summary>
    public async ValueTask DisposeAsync()
    {
        Task<RedLockFactory>? connecting;
        lock (_gate)
        {
            connecting = _connecting;
        }

        if (connecting is { IsCompletedSuccessfully: true })
        {
            await connecting.Result.DisposeAsync().ConfigureAwait(false);
        }
        else if (connecting is not null)
        {
            try
            {
                var factory = await connecting.ConfigureAwait(false);
                await factory.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedLockException or ArgumentException or OperationCanceledException)
            {
                // it never connected; nothing to close
            }
        }
    }
}

/// <summary>
/// The <see cref="ILockFactoryWithRecords"/> the container hands out: waits for the connection, then delegates. Its
/// clock and lock timing come from the options, so it can be used (an idempotent processor built on it) before the
/// nodes are reached.
/// </summary>
internal sealed class ConnectedLockFactory(RedLockConnection connection, RedLockOptions options) : ILockFactoryWithRecords, ISemaphoreFactory, IReaderWriterLockFactory, IMultiLockFactory
{
    public ILockRecords Records { get; } = new ConnectedRecords(connection);

    public TimeProvider TimeProvider => options.TimeProvider;

    public LockTiming TimingFor(TimeSpan expiry, string paramName = "expiry") => options.TimingFor(expiry, paramName);

    public async Task<ILockHandle> AcquireAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default)
    {
        var factory = await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false);
        return await factory.AcquireAsync(resource, request, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ILockHandle?> TryAcquireAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default)
    {
        var factory = await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false);
        return await factory.TryAcquireAsync(resource, request, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ISemaphoreHandle> AcquireSemaphoreAsync(string resource, int maxCount, LockRequest? request = null, CancellationToken cancellationToken = default)
    {
        var factory = await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false);
        return await factory.AcquireSemaphoreAsync(resource, maxCount, request, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ISemaphoreHandle?> TryAcquireSemaphoreAsync(string resource, int maxCount, LockRequest? request = null, CancellationToken cancellationToken = default)
    {
        var factory = await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false);
        return await factory.TryAcquireSemaphoreAsync(resource, maxCount, request, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ILockHandle> AcquireReadAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        await (await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false)).AcquireReadAsync(resource, request, cancellationToken).ConfigureAwait(false);

    public async Task<ILockHandle?> TryAcquireReadAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        await (await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false)).TryAcquireReadAsync(resource, request, cancellationToken).ConfigureAwait(false);

    public async Task<ILockHandle> AcquireWriteAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        await (await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false)).AcquireWriteAsync(resource, request, cancellationToken).ConfigureAwait(false);

    public async Task<ILockHandle?> TryAcquireWriteAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        await (await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false)).TryAcquireWriteAsync(resource, request, cancellationToken).ConfigureAwait(false);

    public async Task<MultiLockHandle> AcquireAllAsync(IReadOnlyList<string> resources, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        await (await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false)).AcquireAllAsync(resources, request, cancellationToken).ConfigureAwait(false);

    public async Task<MultiLockHandle?> TryAcquireAllAsync(IReadOnlyList<string> resources, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        await (await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false)).TryAcquireAllAsync(resources, request, cancellationToken).ConfigureAwait(false);
}

/// <summary>The connected factory's records, once it is connected.</summary>
internal sealed class ConnectedRecords(RedLockConnection connection) : ILockRecords
{
    public async Task<LockRecordRead> ReadAsync(string resource, string name, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        var factory = await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false);
        return await factory.Records.ReadAsync(resource, name, retention, cancellationToken).ConfigureAwait(false);
    }

    public async Task<LockRecordWrite> WriteAsync(ILockHandle holder, string name, string value, LockRecordWriteOptions options, CancellationToken cancellationToken = default)
    {
        var factory = await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false);
        return await factory.Records.WriteAsync(holder, name, value, options, cancellationToken).ConfigureAwait(false);
    }

    public async Task<LockRecordWrite> ClaimAsync(ILockHandle holder, LockRecordClaim claim, CancellationToken cancellationToken = default)
    {
        var factory = await connection.GetFactoryAsync(cancellationToken).ConfigureAwait(false);
        return await factory.Records.ClaimAsync(holder, claim, cancellationToken).ConfigureAwait(false);
    }
}
