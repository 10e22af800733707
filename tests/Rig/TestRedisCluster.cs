using System.Diagnostics;
using System.Globalization;

namespace RedLockNet.TestRig;

/// <summary>
/// A real Redis Cluster on 127.0.0.1: <c>redis-server</c> processes in cluster mode (persistence off, each with its
/// cluster file in its own data directory), joined as masters without replicas by
/// <c>redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes</c>, ready once every node reports
/// <c>cluster_state:ok</c>. One cluster is one Redlock member: give a client <see cref="SeedEndpoint"/> and it finds the
/// others. redis-server only (Garnet's cluster mode is not used).
/// </summary>
public sealed class TestRedisCluster : IAsyncDisposable
{
    private readonly Action<string> log;
    private int disposed;

    private TestRedisCluster(IReadOnlyList<TestNode> shards, Action<string> log)
    {
        Shards = shards;
        this.log = log;
    }

    /// <summary>The cluster's masters, one per shard.</summary>
    public IReadOnlyList<TestNode> Shards { get; }

    /// <summary>One master's address: a client's configuration needs only this to discover the cluster.</summary>
    public string SeedEndpoint => Shards[0].Endpoint;

    /// <summary>Starts <paramref name="shards"/> masters (at least 3, as redis-cli requires) and joins them into one cluster.</summary>
    /// <exception cref="TestNodeStartException">A server did not start, the join failed, or the cluster was not ready within 20 s.</exception>
    public static async Task<TestRedisCluster> StartAsync(int shards = 3, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 3);
        var sink = log ?? Console.WriteLine;
        var clock = Stopwatch.StartNew();
        NodeProcessRegistry.SweepOrphans(sink);
        var command = new RedisServerCommand(clusterEnabled: true);
        var nodes = Enumerable.Range(0, shards).Select(_ => new TestNode(new ProcessNodeRuntime(command, sink), NodeBackend.RedisServer, sink)).ToArray();
        try
        {
            await Task.WhenAll(nodes.Select(node => node.StartAsync(cancellationToken)));
            await RunRedisCliAsync(["--cluster", "create", .. nodes.Select(n => n.Endpoint), "--cluster-replicas", "0", "--cluster-yes"], cancellationToken);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            foreach (var node in nodes)
            {
                while (!(await RunRedisCliAsync(["-p", node.Port.ToString(CultureInfo.InvariantCulture), "cluster", "info"], cancellationToken)).Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TestNodeStartException($"the cluster {string.Join(", ", nodes.Select(n => n.Endpoint))} was not ready within 20 s");
                    }

                    await Task.Delay(50, cancellationToken);
                }
            }
        }
        catch
        {
            await Task.WhenAll(nodes.Select(node => node.DisposeAsync().AsTask()));
            throw;
        }

        sink(string.Create(CultureInfo.InvariantCulture, $"[rig] started a Redis Cluster of {shards} masters in {clock.ElapsedMilliseconds} ms: {string.Join(", ", nodes.Select(n => n.Endpoint))}"));
        return new TestRedisCluster(nodes, sink);
    }

    /// <summary>Kills every server of the cluster and waits until they are gone. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await Task.WhenAll(Shards.Select(node => node.DisposeAsync().AsTask()));
        log($"[rig] disposed the Redis Cluster {string.Join(", ", Shards.Select(n => n.Endpoint))}");
    }

    /// <summary>Runs redis-cli (bounded to 30 s) and returns its output; a non-zero exit is a <see cref="TestNodeStartException"/>.</summary>
    private static async Task<string> RunRedisCliAsync(IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var executable = ExecutableLocator.Find("redis-cli")
            ?? throw new TestNodeStartException("'redis-cli' was not found on PATH (Debian's redis-tools, which redis-server depends on)");
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new TestNodeStartException("redis-cli did not start");
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(TimeSpan.FromSeconds(30));
        var output = process.StandardOutput.ReadToEndAsync(bound.Token);
        var error = process.StandardError.ReadToEndAsync(bound.Token);
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TestNodeStartException($"redis-cli {string.Join(' ', start.ArgumentList)} did not finish within 30 s");
        }

        return process.ExitCode == 0
            ? await output
            : throw new TestNodeStartException($"redis-cli {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}: {await error}{await output}");
    }
}
