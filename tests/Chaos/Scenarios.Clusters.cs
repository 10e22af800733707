using System.Diagnostics;
using RedLockNet.TestRig;

namespace RedLockNet.Chaos;

/// <summary>Scenarios whose Redlock members are Redis Clusters (redis-server only).</summary>
public sealed partial class Scenarios
{
    /// <summary>
    /// M: three members, each a 3-shard Redis Cluster, restart quarantine on. Three contenders loop on the main lock
    /// (fenced writes, 3 s TTL) while, twice, the shard that owns the lock's slot in a random member is killed -9 in the
    /// middle of the work (its cluster goes down a moment later: a master without replicas leaves slots uncovered) and
    /// restarted empty (it rejoins with its slots and no data; quarantine keeps it out of the vote for them).
    /// </summary>
    [Fact]
    public async Task M_cluster_members_with_a_shard_killed_mid_lock_then_restarted_empty_have_no_violations()
    {
        Assert.SkipWhen(NodeBackendSelector.FromEnvironment() != NodeBackend.RedisServer, "cluster members are tested with redis-server only");
        var clock = Stopwatch.StartNew();
        var seed = Seed + 13;
        var random = new Random(seed);
        await using var rig = await ChaosRig.StartAsync("m", Bound());
        var clusters = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => TestRedisCluster.StartAsync(3, ChaosRig.Log, cancellationToken: Bound())));
        try
        {
            var ttl = TimeSpan.FromSeconds(3);
            var factories = new List<RedLockFactory>();
            for (var i = 0; i < 3; i++)
            {
                factories.Add(await rig.FactoryAsync(o => Quarantine(o, RestartQuarantineMode.WhenNotPersistent, ttl), clusters.Select(c => c.SeedEndpoint)));
            }

            using var stop = new CancellationTokenSource();
            var workers = factories.Select((f, i) => rig.Worker($"c{i}", f, ttl, fencing: true, Think, TimeSpan.FromSeconds(3)).RunAsync(1000, TimeSpan.FromSeconds(20), stop.Token)).ToList();
            var faults = "3 members of 3 shards";
            var lockKey = $"redlock:{{{rig.LockName}}}";
            for (var round = 0; round < 2; round++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(1000 + random.Next(1000)), Bound());
                var member = random.Next(3);
                var shard = await clusters[member].ShardOfAsync(lockKey, Bound());
                await Bounded.Within(clusters[member].Shards[shard].KillAsync(), TimeSpan.FromSeconds(45), $"kill -9 of shard {shard} of member {member}");
                await Task.Delay(TimeSpan.FromMilliseconds(500 + random.Next(2000)), Bound());
                await Bounded.Within(clusters[member].RestartShardEmptyAsync(shard, Bound()), TimeSpan.FromSeconds(45), $"restart of shard {shard} of member {member}");
                faults += $", kill-9+restart-empty m{member}s{shard}";
            }

            await Task.Delay(TimeSpan.FromSeconds(3), Bound());
            await stop.CancelAsync();
            await Bounded.Within(Task.WhenAll(workers), TimeSpan.FromSeconds(20), "contenders");

            var history = rig.History.Snapshot();
            var violations = Checkers.All(history, await rig.ReadCounterAsync(fencing: true));
            rig.Report("m cluster members: shard kill-9 mid-lock + restart-empty, quarantine on", seed, faults, clock.Elapsed, violations);
            Assert.Empty(violations);
            Assert.Contains(history, e => e.Kind == "acquired"); // the members served the contenders through the faults
        }
        finally
        {
            await Task.WhenAll(clusters.Select(c => c.DisposeAsync().AsTask()));
        }
    }
}
