using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Rig;

/// <summary>How the rig reports servers that do not come up, and how it waits for a port that is still taken.</summary>
public sealed class NodeProcessFailureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_server_that_exits_early_fails_with_its_exit_code_and_output()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "uses /bin/sh");
        var runtime = new ProcessNodeRuntime(new ShellCommand("echo 'boom on stdout'; echo 'bad config' >&2; exit 3", TimeSpan.FromSeconds(10)), output.WriteLine);
        await using (runtime)
        {
            var error = await Assert.ThrowsAsync<TestNodeStartException>(() => runtime.StartAsync(TestContext.Current.CancellationToken));

            Assert.Contains("exited with code 3", error.Message, StringComparison.Ordinal);
            Assert.Contains("boom on stdout", error.Message, StringComparison.Ordinal);
            Assert.Contains("[stderr] bad config", error.Message, StringComparison.Ordinal);
            Assert.False(runtime.IsRunning);
        }
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_and_is_killed()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "uses /bin/sh");
        var runtime = new ProcessNodeRuntime(new ShellCommand("echo 'starting'; exec sleep 30", TimeSpan.FromMilliseconds(500)), output.WriteLine);
        await using (runtime)
        {
            var clock = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<TestNodeStartException>(() => runtime.StartAsync(TestContext.Current.CancellationToken));

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
            Assert.Contains("did not answer PING within 0.5 s", error.Message, StringComparison.Ordinal);
            Assert.Contains("still running", error.Message, StringComparison.Ordinal);
            Assert.Contains("starting", error.Message, StringComparison.Ordinal);
            Assert.False(runtime.IsRunning);
        }
    }

    [Fact]
    public async Task Restart_waits_while_the_port_is_still_taken()
    {
        Assert.SkipWhen(NodeBackendSelector.FromEnvironment() == NodeBackend.Testcontainers, "process backends only");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await using var cluster = await TestNodeCluster.StartAsync(1, backend: null, output.WriteLine, timeout.Token);
        var node = cluster.Nodes[0];
        await node.KillAsync();
        var squatter = new TcpListener(IPAddress.Loopback, node.Port);
        squatter.Start();
        var release = Task.Delay(TimeSpan.FromMilliseconds(700), timeout.Token).ContinueWith(_ => squatter.Stop(), TaskScheduler.Default);
        try
        {
            await node.RestartAsync(timeout.Token);
        }
        finally
        {
            await release;
        }

        Assert.True(node.IsRunning);
        Assert.Equal("PONG", await MiniResp.PingAsync(node.Port, TimeSpan.FromSeconds(5), timeout.Token));
    }

    /// <summary>A stand-in server: a shell script that ignores its port.</summary>
    private sealed class ShellCommand(string script, TimeSpan readyTimeout) : INodeCommand
    {
        public string Name => "sh";

        public TimeSpan ReadyTimeout => readyTimeout;

        public ProcessStartInfo CreateStartInfo(int port, string dataDirectory) => new("/bin/sh") { ArgumentList = { "-c", script } };
    }
}
