using System.Diagnostics;

namespace RedLockNet.TestRig;

/// <summary>
/// One server process: started with its output captured into a ring buffer, registered for cleanup,
/// and released (pidfile, data folder, handle) once it has exited.
/// </summary>
internal sealed class NodeProcess
{
    /// <summary>The name prefix of the fresh temp folder each server runs in.</summary>
    public const string DataDirectoryPrefix = "redlocknet-node-";

    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(5);

    private readonly Process process;
    private readonly OutputTail output = new();
    private readonly string name;
    private readonly string dataDirectory;
    private readonly SecurityFiles? security;
    private int released;

    private NodeProcess(Process process, string name, int port, string dataDirectory, SecurityFiles? security)
    {
        this.process = process;
        this.name = name;
        this.dataDirectory = dataDirectory;
        this.security = security;
        Port = port;
    }

    /// <summary>The port the server was told to listen on.</summary>
    public int Port { get; }

    /// <summary>The OS process id.</summary>
    public int Id { get; private set; }

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => Volatile.Read(ref released) != 0 || process.HasExited;

    /// <summary>Starts the server (without waiting for it to be ready) in a fresh data folder.</summary>
    public static NodeProcess Start(INodeCommand command, int port)
    {
        var dataDirectory = Directory.CreateTempSubdirectory(DataDirectoryPrefix).FullName;
        var info = command.CreateStartInfo(port, dataDirectory);
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = dataDirectory;

        var process = new Process { StartInfo = info };
        var node = new NodeProcess(process, command.Name, port, dataDirectory, command.Security);
        process.OutputDataReceived += (_, e) => node.output.Add(string.Empty, e.Data);
        process.ErrorDataReceived += (_, e) => node.output.Add("[stderr] ", e.Data);
        try
        {
            process.Start();
        }
        catch
        {
            process.Dispose();
            NodeProcessRegistry.DeleteDataDirectory(dataDirectory);
            throw;
        }

        node.Id = process.Id;
        try
        {
            NodeProcessRegistry.Register(process, port, dataDirectory);
        }
        catch
        {
            // e.g. the pidfile folder is not writable: fail loudly, but do not leak the server
            NodeProcessRegistry.Unregister(node.Id);
            process.Kill();
            process.Dispose();
            NodeProcessRegistry.DeleteDataDirectory(dataDirectory);
            throw;
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>Polls a TCP connect (TLS handshake and AUTH as the rig's admin on a secured node) + <c>PING</c> until <c>+PONG</c>, the process exits, or <paramref name="timeout"/> passes.</summary>
    /// <exception cref="TestNodeStartException">The process exited or did not answer in time.</exception>
    public async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                await WaitForExitAsync();
                var tail = output.ToString();
                throw new TestNodeStartException($"{Describe()} exited with code {process.ExitCode} before answering PING.{Environment.NewLine}Last output:{Environment.NewLine}{tail}")
                {
                    AddressInUse = tail.Contains("in use", StringComparison.OrdinalIgnoreCase),
                };
            }

            if (await RespProbe.PingAsync(Port, TimeSpan.FromSeconds(1), cancellationToken, security) && !process.HasExited)
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TestNodeStartException($"{Describe()} did not answer PING within {timeout.TotalSeconds:0.###} s (exit code: none, still running).{Environment.NewLine}Last output:{Environment.NewLine}{output}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }
    }

    /// <summary>SIGKILLs the process (a stopped one too), waits for it to be reaped, then releases it.</summary>
    public async Task KillAsync()
    {
        if (!HasExited)
        {
            process.Kill();
        }

        await WaitForExitAsync();
        Release();
    }

    /// <summary>Asks the process to exit (SIGTERM, then SIGCONT in case it is paused); SIGKILLs it after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!HasExited && PosixSignals.Send(Id, PosixSignals.SigTerm))
        {
            PosixSignals.Send(Id, PosixSignals.SigCont);
            using var timeout = new CancellationTokenSource(grace);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // did not exit in time; killed below
            }
        }

        await KillAsync();
    }

    /// <summary>Sends SIGSTOP and waits until the kernel reports the process stopped.</summary>
    public Task PauseAsync() => SignalAndWaitAsync(PosixSignals.SigStop, stopped: true);

    /// <summary>Sends SIGCONT and waits until the process is no longer stopped.</summary>
    public Task ResumeAsync() => SignalAndWaitAsync(PosixSignals.SigCont, stopped: false);

    private async Task SignalAndWaitAsync(int signal, bool stopped)
    {
        if (!PosixSignals.Send(Id, signal) || !await PosixSignals.WaitForStoppedAsync(Id, stopped, SignalTimeout))
        {
            throw new InvalidOperationException($"{Describe()} did not become {(stopped ? "stopped" : "running")} after signal {signal}; exited: {process.HasExited}.");
        }
    }

    private async Task WaitForExitAsync()
    {
        if (Volatile.Read(ref released) != 0)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Describe()} did not exit within {ExitTimeout.TotalSeconds:0} s of being killed.");
        }
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref released, 1) != 0)
        {
            return;
        }

        NodeProcessRegistry.Unregister(Id);
        process.Dispose();
        NodeProcessRegistry.DeleteDataDirectory(dataDirectory);
    }

    private string Describe() => $"{name} on 127.0.0.1:{Port} (pid {Id})";
}
