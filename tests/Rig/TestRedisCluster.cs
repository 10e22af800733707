using System.Diagnostics;
using System.Globalization;

namespace RedLockNet.TestRig;

/// <summary>
/// A real Redis Cluster on 127.0.0.1: <c>redis-server</c> processes in cluster mode (persistence off, each with its
/// cluster file kept apart from its data), joined as masters, without replicas unless asked, by
/// <c>redis-cli --cluster create ... --cluster-replicas N --cluster-yes</c>, ready once every node reports
/// <c>cluster_state:ok</c>. One cluster is one Redlock member: give a client <see cref="SeedEndpoint"/> and it finds the
/// others. redis-server only (Garnet's cluster mode is not used).
/// </summary>
public sealed class TestRedisCluster : IAsyncDisposable
{
    private readonly Action<string> log;
    private readonly string configDirectory;
    private int disposed;

    private TestRedisCluster(IReadOnlyList<TestNode> shards, IReadOnlyList<TestNode> replicas, string configDirectory, Action<string> log)
    {
        Shards = shards;
        Replicas = replicas;
        this.configDirectory = configDirectory;
        this.log = log;
    }

    /// <summary>The cluster's masters, one per shard.</summary>
    public IReadOnlyList<TestNode> Shards { get; }

    /// <summary>The cluster's replicas (none unless asked for).</summary>
    public IReadOnlyList<TestNode> Replicas { get; }

    /// <summary>One master's address: a client's configuration needs only this to discover the cluster.</summary>
    public string SeedEndpoint => Shards[0].Endpoint;

    /// <summary>
    /// Starts <paramref name="shards"/> masters (at least 3, as redis-cli requires), each with
    /// <paramref name="replicasPerShard"/> replicas, and joins them into one cluster.
    /// </summary>
    /// <exception cref="TestNodeStartException">A server did not start, the join failed, or the cluster was not ready within 20 s.</exception>
    public static async Task<TestRedisCluster> StartAsync(int shards = 3, Action<string>? log = null, int replicasPerShard = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 3);
        var sink = log ?? Console.WriteLine;
        var clock = Stopwatch.StartNew();
        NodeProcessRegistry.SweepOrphans(sink);
        HashSet<string> masters;
        // the cluster files live beside the servers' data directories, so a shard restarted empty rejoins with its slots
        var configDirectory = Directory.CreateTempSubdirectory("redlock-cluster-").FullName;
        var command = new RedisServerCommand(clusterEnabled: true, clusterConfigDirectory: configDirectory);
        var nodes = Enumerable.Range(0, shards * (1 + replicasPerShard)).Select(_ => new TestNode(new ProcessNodeRuntime(command, sink), NodeBackend.RedisServer, sink)).ToArray();
        try
        {
            await Task.WhenAll(nodes.Select(node => node.StartAsync(cancellationToken)));
            await RunRedisCliAsync(["--cluster", "create", .. nodes.Select(n => n.Endpoint), "--cluster-replicas", replicasPerShard.ToString(CultureInfo.InvariantCulture), "--cluster-yes"], cancellationToken);
            await WaitReadyAsync(nodes, cancellationToken);
            masters = await MastersAsync(nodes, shards, cancellationToken);
        }
        catch
        {
            await Task.WhenAll(nodes.Select(node => node.DisposeAsync().AsTask()));
            DeleteDirectory(configDirectory);
            throw;
        }

        sink(string.Create(CultureInfo.InvariantCulture, $"[rig] started a Redis Cluster of {shards} masters and {nodes.Length - shards} replicas in {clock.ElapsedMilliseconds} ms: {string.Join(", ", nodes.Select(n => n.Endpoint))}"));
        return new TestRedisCluster([.. nodes.Where(n => masters.Contains(n.Endpoint))], [.. nodes.Where(n => !masters.Contains(n.Endpoint))], configDirectory, sink);
    }

    /// <summary>
    /// Kills shard <paramref name="shard"/> and starts it again on its port without its data (persistence is off) but
    /// with its cluster file: it rejoins owning the same slots, empty, as a shard restarted without persistence does.
    /// Returns once every shard reports <c>cluster_state:ok</c> again.
    /// </summary>
    public async Task RestartShardEmptyAsync(int shard, CancellationToken cancellationToken = default)
    {
        await Shards[shard].RestartAsync(cancellationToken);
        await WaitReadyAsync(Shards, cancellationToken);
    }

    /// <summary>Restarts every shard empty with its cluster file (as <see cref="RestartShardEmptyAsync"/>) and returns once the cluster is whole.</summary>
    public async Task RestartEmptyAsync(CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(Shards.Select(shard => shard.RestartAsync(cancellationToken)));
        await WaitReadyAsync(Shards, cancellationToken);
    }

    /// <summary>The index of the shard that owns <paramref name="key"/>'s hash slot, as CLUSTER KEYSLOT and CLUSTER SHARDS say.</summary>
    public async Task<int> ShardOfAsync(string key, CancellationToken cancellationToken = default)
    {
        var port = Shards[0].Port.ToString(CultureInfo.InvariantCulture);
        var slot = int.Parse((await RunRedisCliAsync(["-p", port, "cluster", "keyslot", key], cancellationToken)).Trim(), CultureInfo.InvariantCulture);
        foreach (var line in (await RunRedisCliAsync(["-p", port, "cluster", "nodes"], cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            var owns = fields.Skip(8).Select(range => range.Split('-')).Any(range => range[0].All(char.IsDigit)
                && int.Parse(range[0], CultureInfo.InvariantCulture) <= slot && slot <= int.Parse(range[^1], CultureInfo.InvariantCulture));
            if (owns)
            {
                var endpoint = fields[1].Split('@')[0];
                return Shards.ToList().FindIndex(node => node.Endpoint == endpoint);
            }
        }

        throw new InvalidOperationException($"no shard of the cluster owns slot {slot}");
    }

    /// <summary>
    /// The endpoints CLUSTER NODES lists as masters, once every node lists <paramref name="shards"/> masters and the
    /// rest as replicas (the roles redis-cli assigned reach the other nodes by gossip, and clients read them there).
    /// </summary>
    private static async Task<HashSet<string>> MastersAsync(TestNode[] nodes, int shards, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var listings = await Task.WhenAll(nodes.Select(node => RunRedisCliAsync(["-p", node.Port.ToString(CultureInfo.InvariantCulture), "cluster", "nodes"], cancellationToken)));
            var views = listings.Select(listing => listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' '))
                .Where(fields => fields.Length > 2).ToArray()).ToArray();
            if (views.All(view => view.Count(fields => fields[2].Contains("master", StringComparison.Ordinal)) == shards
                && view.Count(fields => fields[2].Contains("slave", StringComparison.Ordinal)) == nodes.Length - shards))
            {
                return [.. views[0].Where(fields => fields[2].Contains("master", StringComparison.Ordinal)).Select(fields => fields[1].Split('@')[0])];
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TestNodeStartException($"the cluster's nodes did not agree on {shards} masters within 20 s");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private static async Task WaitReadyAsync(IReadOnlyList<TestNode> nodes, CancellationToken cancellationToken)
    {
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

    private static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // a server still writing its cluster file: the temp folder is swept with the machine
        }
    }

    /// <summary>Kills every server of the cluster and waits until they are gone. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await Task.WhenAll(Shards.Concat(Replicas).Select(node => node.DisposeAsync().AsTask()));
        DeleteDirectory(configDirectory);
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
