using System.Diagnostics;
using System.Net.Sockets;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Rig;

/// <summary>Real-process tests of the rig against the backend chosen by REDLOCK_TEST_BACKEND (default: redis-server when installed).</summary>
public sealed class TestNodeClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PausedReplyTimeout = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task Nodes_answer_ping_on_distinct_loopback_ports()
    {
        using var timeout = TimeoutToken();
        await using var cluster = await StartAsync(3, timeout.Token);

        Assert.Equal(3, cluster.Nodes.Count);
        Assert.Equal(3, cluster.Endpoints.Distinct().Count());
        foreach (var node in cluster.Nodes)
        {
            Assert.Equal($"127.0.0.1:{node.Port}", node.Endpoint);
            Assert.True(node.IsRunning);
            Assert.False(node.IsPaused);
            Assert.Equal("PONG", await MiniResp.PingAsync(node.Port, ReplyTimeout, timeout.Token));
        }
    }

    [Fact]
    public async Task A_killed_node_refuses_connections_and_restarts_empty_on_the_same_port()
    {
        using var timeout = TimeoutToken();
        await using var cluster = await StartAsync(3, timeout.Token);
        var victim = cluster.Nodes[0];
        var port = victim.Port;
        var pidBefore = victim.ProcessId;
        Assert.Equal("OK", await MiniResp.CommandAsync(port, ReplyTimeout, timeout.Token, "SET", "rig:key", "value"));
        Assert.Equal("value", await MiniResp.CommandAsync(port, ReplyTimeout, timeout.Token, "GET", "rig:key"));

        await victim.KillAsync();

        Assert.False(victim.IsRunning);
        Assert.Null(victim.ProcessId);
        var refused = await Assert.ThrowsAsync<SocketException>(() => MiniResp.PingAsync(port, ReplyTimeout, timeout.Token));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        await AssertAnswerAsync(cluster.Nodes[1], timeout.Token);
        await AssertAnswerAsync(cluster.Nodes[2], timeout.Token);

        await victim.RestartAsync(timeout.Token);

        Assert.True(victim.IsRunning);
        Assert.Equal(port, victim.Port);
        Assert.NotEqual(pidBefore, victim.ProcessId);
        await AssertAnswerAsync(victim, timeout.Token);
        Assert.Null(await MiniResp.CommandAsync(port, ReplyTimeout, timeout.Token, "GET", "rig:key"));
    }

    [Fact]
    public async Task A_paused_node_hangs_until_resumed_while_the_others_answer()
    {
        using var timeout = TimeoutToken();
        await using var cluster = await StartAsync(3, timeout.Token);
        var victim = cluster.Nodes[1];

        await victim.PauseAsync();

        Assert.True(victim.IsPaused);
        Assert.True(victim.IsRunning);
        await Assert.ThrowsAsync<TimeoutException>(() => MiniResp.PingAsync(victim.Port, PausedReplyTimeout, timeout.Token));
        await AssertAnswerAsync(cluster.Nodes[0], timeout.Token);
        await AssertAnswerAsync(cluster.Nodes[2], timeout.Token);

        await victim.ResumeAsync();

        Assert.False(victim.IsPaused);
        await AssertAnswerAsync(victim, timeout.Token);
    }

    [Fact]
    public async Task Dispose_kills_every_process_including_paused_ones_and_removes_their_pidfiles()
    {
        Assert.SkipWhen(NodeBackendSelector.FromEnvironment() == NodeBackend.Testcontainers, "containers have no local pid");
        using var timeout = TimeoutToken();
        var cluster = await StartAsync(3, timeout.Token);
        var pids = cluster.Nodes.Select(node => node.ProcessId ?? throw new InvalidOperationException("no pid")).ToArray();
        var pidFiles = pids.Select(pid => Path.Combine(Path.GetTempPath(), "redlocknet-test-nodes", $"{Environment.ProcessId}-{pid}")).ToArray();
        Assert.All(pidFiles, file => Assert.True(File.Exists(file), file));
        await cluster.Nodes[2].PauseAsync();

        await cluster.DisposeAsync();

        foreach (var pid in pids)
        {
            Assert.True(await GoneAsync(pid, timeout.Token), $"pid {pid} is still alive after DisposeAsync");
        }

        Assert.All(pidFiles, file => Assert.False(File.Exists(file), file));
        Assert.All(cluster.Nodes, node => Assert.False(node.IsRunning));
        await cluster.DisposeAsync(); // idempotent
    }

    [Fact]
    public async Task Stop_shuts_even_a_paused_node_down_and_restart_brings_it_back()
    {
        using var timeout = TimeoutToken();
        await using var cluster = await StartAsync(1, timeout.Token);
        var node = cluster.Nodes[0];
        await node.PauseAsync();
        var clock = Stopwatch.StartNew();

        await node.StopAsync();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"a graceful stop took {clock.Elapsed} (did it fall back to SIGKILL?)");
        Assert.False(node.IsRunning);
        Assert.False(node.IsPaused);
        await Assert.ThrowsAsync<SocketException>(() => MiniResp.PingAsync(node.Port, ReplyTimeout, timeout.Token));
        await node.RestartAsync(timeout.Token);
        await AssertAnswerAsync(node, timeout.Token);
    }

    private static CancellationTokenSource TimeoutToken()
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        source.CancelAfter(TestTimeout);
        return source;
    }

    private static async Task AssertAnswerAsync(TestNode node, CancellationToken cancellationToken) =>
        Assert.Equal("PONG", await MiniResp.PingAsync(node.Port, ReplyTimeout, cancellationToken));

    /// <summary>Waits (bounded) until /proc/&lt;pid&gt; is gone, i.e. the process exited and was reaped.</summary>
    private static async Task<bool> GoneAsync(int pid, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (Directory.Exists($"/proc/{pid}"))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(5))
            {
                return false;
            }

            await Task.Delay(20, cancellationToken);
        }

        return true;
    }

    private Task<TestNodeCluster> StartAsync(int count, CancellationToken cancellationToken) =>
        TestNodeCluster.StartAsync(count, backend: null, output.WriteLine, cancellationToken);
}
