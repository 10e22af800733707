using System.Globalization;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using Testcontainers.Redis;

namespace RedLockNet.TestRig;

/// <summary>
/// A node that is a <c>redis:7</c> container (opt-in; needs a Docker engine). The container port is published on
/// 127.0.0.1 at a fixed host port so that a restart keeps the endpoint. Docker has no "kill -9" through
/// Testcontainers, so <see cref="KillAsync"/> stops the container (with persistence off, Redis exits at once).
/// </summary>
internal sealed class ContainerNodeRuntime(Action<string> log) : INodeRuntime
{
    private const string Image = "redis:7";
    private RedisContainer? container;

    /// <inheritdoc />
    public int Port { get; private set; }

    /// <inheritdoc />
    public int? ProcessId => null;

    /// <inheritdoc />
    public bool IsRunning { get; private set; }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Port = FreePorts.Reserve();
        var hostPort = Port.ToString(CultureInfo.InvariantCulture);
        try
        {
            container = new RedisBuilder(Image)
                .WithCommand("--save", string.Empty, "--appendonly", "no")
                .WithCreateParameterModifier(parameters =>
                {
                    parameters.HostConfig ??= new HostConfig();
                    parameters.HostConfig.PortBindings ??= new Dictionary<string, IList<PortBinding>>();
                    parameters.HostConfig.PortBindings[$"{RedisBuilder.RedisPort}/tcp"] = [new PortBinding { HostIP = "127.0.0.1", HostPort = hostPort }];
                })
                .Build();
            await container.StartAsync(cancellationToken);
        }
        catch (DockerUnavailableException e)
        {
            throw new TestNodeStartException($"{NodeBackendSelector.EnvironmentVariable}=testcontainers needs a Docker engine, and none is reachable ({e.Message}). Use 'redis' or 'garnet' instead.", e);
        }

        IsRunning = true;
        log($"[rig] container {container.Id[..12]} ({Image}) on 127.0.0.1:{Port}");
    }

    /// <inheritdoc />
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        var started = RequireContainer();
        await KillAsync();
        await started.StartAsync(cancellationToken);
        IsRunning = true;
    }

    /// <inheritdoc />
    public async Task KillAsync()
    {
        if (container is not null && IsRunning)
        {
            IsRunning = false;
            await container.StopAsync();
        }
    }

    /// <inheritdoc />
    public Task StopAsync() => KillAsync();

    /// <inheritdoc />
    public Task PauseAsync() => RequireContainer().PauseAsync();

    /// <inheritdoc />
    public Task ResumeAsync() => RequireContainer().UnpauseAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        IsRunning = false;
        if (container is not null)
        {
            await container.DisposeAsync();
            container = null;
        }

        if (Port != 0)
        {
            FreePorts.Release(Port);
        }
    }

    private RedisContainer RequireContainer() =>
        container ?? throw new InvalidOperationException("The container node has not been started.");
}
