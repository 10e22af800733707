using Microsoft.Extensions.Hosting;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>
/// The container's one <see cref="RedLockFactory"/>: connects when the host starts (so bad configuration stops the
/// host at once) or on first use, and is disposed with the container.
/// </summary>
public sealed class RedLockConnection : IHostedService, IAsyncDisposable, IDisposable
{
    private readonly RedLockOptions _options;
    private readonly Lock _gate = new();
    private Task<RedLockFactory>? _connecting;

    internal RedLockConnection(RedLockOptions options) => _options = options;

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

/// <summary>The <see cref="IDistributedLockFactory"/> the container hands out: waits for the connection, then delegates.</summary>
internal sealed class ConnectedLockFactory(RedLockConnection connection) : IDistributedLockFactory
{
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
}
