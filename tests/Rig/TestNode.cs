using System.Globalization;

namespace RedLockNet.TestRig;

/// <summary>
/// One Redis-compatible server of a <see cref="TestNodeCluster"/>, listening on 127.0.0.1, that a test can
/// kill, pause, resume and restart. Operations on one node must not overlap; different nodes are independent.
/// </summary>
public sealed class TestNode
{
    private readonly INodeRuntime runtime;
    private readonly Action<string> log;
    private bool paused;

    internal TestNode(INodeRuntime runtime, NodeBackend backend, Action<string> log)
    {
        this.runtime = runtime;
        this.log = log;
        Backend = backend;
    }

    /// <summary>The kind of server this node runs.</summary>
    public NodeBackend Backend { get; }

    /// <summary>The loopback port the node listens on; it stays the same across restarts.</summary>
    public int Port => runtime.Port;

    /// <summary>The node's address as <c>127.0.0.1:port</c>.</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>The server's OS process id while it runs; <see langword="null"/> when it is not running or is a container.</summary>
    public int? ProcessId => runtime.ProcessId;

    /// <summary>Whether the server is up (a paused server is up).</summary>
    public bool IsRunning => runtime.IsRunning;

    /// <summary>Whether the server is up but frozen by <see cref="PauseAsync"/>.</summary>
    public bool IsPaused => paused && runtime.IsRunning;

    /// <summary>Kills the server abruptly (SIGKILL, also when paused) and waits until it has exited. Does nothing when it is not running.</summary>
    public async Task KillAsync()
    {
        var pid = ProcessId;
        var wasRunning = IsRunning;
        paused = false;
        await runtime.KillAsync();
        if (wasRunning)
        {
            log($"[rig] killed {Describe(pid)}");
        }
    }

    /// <summary>Freezes the server (SIGSTOP): it keeps its sockets, and connections hang instead of being refused.</summary>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    public async Task PauseAsync()
    {
        await runtime.PauseAsync();
        paused = true;
        log($"[rig] paused {Describe(ProcessId)}");
    }

    /// <summary>Unfreezes a paused server (SIGCONT).</summary>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    public async Task ResumeAsync()
    {
        await runtime.ResumeAsync();
        paused = false;
        log($"[rig] resumed {Describe(ProcessId)}");
    }

    /// <summary>
    /// Kills the server if it runs, then starts a fresh, empty one on the same port and waits until it answers
    /// <c>PING</c> (retrying briefly while the port is still in use).
    /// </summary>
    /// <param name="cancellationToken">Cancels waiting for the new server; a half-started one is killed.</param>
    /// <exception cref="TestNodeStartException">The new server did not start or answer in time.</exception>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        paused = false;
        await runtime.RestartAsync(cancellationToken);
        log($"[rig] restarted {Describe(ProcessId)}");
    }

    /// <summary>Shuts the server down gracefully (SIGTERM), killing it if it does not exit within a few seconds.</summary>
    public async Task StopAsync()
    {
        var pid = ProcessId;
        var wasRunning = IsRunning;
        paused = false;
        await runtime.StopAsync();
        if (wasRunning)
        {
            log($"[rig] stopped {Describe(pid)}");
        }
    }

    /// <summary>The node's endpoint.</summary>
    public override string ToString() => Endpoint;

    internal Task StartAsync(CancellationToken cancellationToken) => runtime.StartAsync(cancellationToken);

    internal ValueTask DisposeAsync()
    {
        paused = false;
        return runtime.DisposeAsync();
    }

    private string Describe(int? pid) =>
        pid is null ? $"{Backend} node {Endpoint}" : string.Create(CultureInfo.InvariantCulture, $"{Backend} node {Endpoint} (pid {pid})");
}
