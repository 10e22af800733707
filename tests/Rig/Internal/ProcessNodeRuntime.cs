using System.Diagnostics;

namespace RedLockNet.TestRig;

/// <summary>A node that is a local server process (redis-server or the Garnet host).</summary>
internal sealed class ProcessNodeRuntime(INodeCommand command, Action<string> log) : INodeRuntime
{
    private const int StartAttempts = 3;
    private static readonly TimeSpan RestartPortWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private NodeProcess? current;

    /// <inheritdoc />
    public int Port { get; private set; }

    /// <inheritdoc />
    public int? ProcessId => current is { HasExited: false } process ? process.Id : null;

    /// <inheritdoc />
    public bool IsRunning => current is { HasExited: false };

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePorts.Reserve();
            try
            {
                current = await LaunchAsync(port, cancellationToken);
                Port = port;
                return;
            }
            catch (TestNodeStartException e) when (e.AddressInUse && attempt < StartAttempts)
            {
                FreePorts.Release(port);
                log($"[rig] port {port} was taken before {command.Name} could bind it; trying another port");
            }
            catch
            {
                FreePorts.Release(port);
                throw;
            }
        }
    }

    /// <inheritdoc />
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        await KillAsync();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                current = await LaunchAsync(Port, cancellationToken);
                return;
            }
            catch (TestNodeStartException e) when (e.AddressInUse && clock.Elapsed < RestartPortWait)
            {
                log($"[rig] port {Port} is still in use; retrying the restart of {command.Name}");
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }
    }

    /// <inheritdoc />
    public async Task KillAsync()
    {
        var process = current;
        current = null;
        if (process is not null)
        {
            await process.KillAsync();
        }
    }

    /// <inheritdoc />
    public async Task StopAsync()
    {
        var process = current;
        current = null;
        if (process is not null)
        {
            await process.StopAsync(StopGrace);
        }
    }

    /// <inheritdoc />
    public Task PauseAsync() => RequireRunning().PauseAsync();

    /// <inheritdoc />
    public Task ResumeAsync() => RequireRunning().ResumeAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        if (Port != 0)
        {
            FreePorts.Release(Port);
        }
    }

    private async Task<NodeProcess> LaunchAsync(int port, CancellationToken cancellationToken)
    {
        var process = NodeProcess.Start(command, port);
        try
        {
            await process.WaitUntilReadyAsync(command.ReadyTimeout, cancellationToken);
            return process;
        }
        catch
        {
            await process.KillAsync();
            throw;
        }
    }

    private NodeProcess RequireRunning() =>
        current is { HasExited: false } process
            ? process
            : throw new InvalidOperationException($"The {command.Name} node on port {Port} is not running.");
}
