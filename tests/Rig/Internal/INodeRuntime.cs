namespace RedLockNet.TestRig;

/// <summary>What a backend does for one <see cref="TestNode"/>; calls are not expected to overlap.</summary>
internal interface INodeRuntime : IAsyncDisposable
{
    /// <summary>The loopback port the node listens on (0 before the first start).</summary>
    int Port { get; }

    /// <summary>The server's OS process id while it runs, when it is a local process.</summary>
    int? ProcessId { get; }

    /// <summary>Whether the server is up (a paused server is up).</summary>
    bool IsRunning { get; }

    /// <summary>Starts the server on a new free port and waits until it answers <c>PING</c>.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Kills the server if it runs, then starts an empty one on the same port and waits until it answers <c>PING</c>.</summary>
    Task RestartAsync(CancellationToken cancellationToken);

    /// <summary>Kills the server abruptly and waits until it is gone.</summary>
    Task KillAsync();

    /// <summary>Shuts the server down gracefully (abruptly if it does not comply).</summary>
    Task StopAsync();

    /// <summary>Freezes the server without closing its sockets.</summary>
    Task PauseAsync();

    /// <summary>Unfreezes a paused server.</summary>
    Task ResumeAsync();
}
