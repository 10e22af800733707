using System.Globalization;
using RedLockNet.TestRig;

namespace RedLockNet.Benchmarks;

/// <summary>
/// The Redlock members of one console measurement, started through the test rig on 127.0.0.1: standalone
/// redis-servers, or Redis Clusters of <see cref="ClusterShards"/> masters (each cluster one member). Knows every
/// member's servers, for their own statistics (<see cref="ServerStats"/>). Disposing kills every server.
/// </summary>
internal sealed class MemberSet : IAsyncDisposable
{
    /// <summary>The masters of each cluster member.</summary>
    public const int ClusterShards = 3;

    /// <summary>Starting every server (and joining the clusters) must finish within this.</summary>
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(120);

    private readonly IAsyncDisposable[] servers;

    private MemberSet(MemberShape shape, IAsyncDisposable[] servers, IReadOnlyList<string> endpoints, IReadOnlyList<IReadOnlyList<string>> shards)
    {
        Shape = shape;
        this.servers = servers;
        Endpoints = endpoints;
        Shards = shards;
    }

    /// <summary>What each member is.</summary>
    public MemberShape Shape { get; }

    /// <summary>One entry per member, as <see cref="RedLockOptions.Nodes"/> lists it (a cluster by its seed endpoint).</summary>
    public IReadOnlyList<string> Endpoints { get; }

    /// <summary>Each member's servers (<c>127.0.0.1:port</c>): one for a standalone member, one per master for a cluster.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Shards { get; }

    /// <summary>
    /// For the console lines: <c>single (3 redis-server members)</c>,
    /// <c>cluster (3 members, each a 3-shard Redis Cluster: 9 redis-server)</c>.
    /// </summary>
    public string Label => Shape == MemberShape.Single
        ? string.Create(CultureInfo.InvariantCulture, $"single ({Endpoints.Count} redis-server member{(Endpoints.Count == 1 ? string.Empty : "s")})")
        : string.Create(CultureInfo.InvariantCulture, $"cluster ({Endpoints.Count} member{(Endpoints.Count == 1 ? ", a" : "s, each a")} {ClusterShards}-shard Redis Cluster: {Shards.Sum(s => s.Count)} redis-server)");

    /// <summary>Starts <paramref name="members"/> members of <paramref name="shape"/> (redis-server, quiet rig log).</summary>
    /// <exception cref="TestNodeStartException">A server did not start, or a cluster did not form, within the rig's bounds.</exception>
    public static async Task<MemberSet> StartAsync(MemberShape shape, int members)
    {
        using var bound = new CancellationTokenSource(StartBound);
        if (shape == MemberShape.Single)
        {
            var nodes = await TestNodeCluster.StartAsync(members, NodeBackend.RedisServer, log: _ => { }, cancellationToken: bound.Token);
            return new MemberSet(shape, [nodes], nodes.Endpoints, [.. nodes.Endpoints.Select(e => (IReadOnlyList<string>)[e])]);
        }

        var clusters = new List<TestRedisCluster>(members);
        try
        {
            for (var i = 0; i < members; i++)
            {
                clusters.Add(await TestRedisCluster.StartAsync(ClusterShards, log: _ => { }, cancellationToken: bound.Token));
            }
        }
        catch
        {
            await Task.WhenAll(clusters.Select(c => c.DisposeAsync().AsTask()));
            throw;
        }

        return new MemberSet(shape, [.. clusters], [.. clusters.Select(c => c.SeedEndpoint)], [.. clusters.Select(c => (IReadOnlyList<string>)[.. c.Shards.Select(s => s.Endpoint)])]);
    }

    /// <summary>Options naming every member, with <paramref name="quarantine"/>; the caller sets the rest.</summary>
    public RedLockOptions CreateOptions(RestartQuarantineMode quarantine)
    {
        var options = new RedLockOptions { RestartQuarantine = quarantine };
        foreach (var endpoint in Endpoints)
        {
            options.Nodes.Add(endpoint);
        }

        return options;
    }

    /// <summary>Kills every server and waits until they are gone.</summary>
    public async ValueTask DisposeAsync() => await Task.WhenAll(servers.Select(s => s.DisposeAsync().AsTask()));
}
