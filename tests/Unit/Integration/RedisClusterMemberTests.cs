using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>
/// One real Redis Cluster (3 masters, <see cref="TestRedisCluster"/>) as one Redlock member, beside two single servers.
/// redis-server only: on another backend the tests are skipped.
/// </summary>
public sealed class RedisClusterMembers : IAsyncLifetime
{
    public TestRedisCluster? Cluster { get; private set; }

    public TestNodeCluster? Singles { get; private set; }

    /// <summary>The members: the cluster (by one seed endpoint), then the two single servers.</summary>
    public IReadOnlyList<string> Endpoints => [Cluster!.SeedEndpoint, .. Singles!.Endpoints];

    public async ValueTask InitializeAsync()
    {
        if (NodeBackendSelector.FromEnvironment() != NodeBackend.RedisServer)
        {
            return;
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Cluster = await TestRedisCluster.StartAsync(3, cancellationToken: cts.Token);
        Singles = await TestNodeCluster.StartAsync(2, NodeBackend.RedisServer, cancellationToken: cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }

        if (Singles is not null)
        {
            await Singles.DisposeAsync();
        }
    }
}

/// <summary>
/// A member that is a Redis Cluster: what works today (issue 16 builds the rest). Restart quarantine cannot check a
/// cluster's shards yet, so connecting with it on is refused; with it off, locks, fencing, extension, renewal (its
/// batches split by hash slot, since a script may only touch one slot) and the primitives work.
/// </summary>
public sealed class RedisClusterMemberTests(RedisClusterMembers members) : IClassFixture<RedisClusterMembers>
{
    [Fact]
    public async Task Restart_quarantine_on_a_cluster_member_is_refused_at_connect_naming_the_member()
    {
        Assert.SkipWhen(members.Cluster is null, "a Redis Cluster member is tested with redis-server only");
        var refused = await Assert.ThrowsAsync<RedLockConfigurationException>(() => RedLockFactory.ConnectAsync(Clusters.Options(members.Endpoints), Clusters.Bound()));
        Assert.Contains(members.Cluster!.SeedEndpoint, refused.Message, StringComparison.Ordinal);
        Assert.Contains("RestartQuarantine = Off", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_members_that_are_one_cluster_are_refused_and_every_shard_has_the_scripts()
    {
        Assert.SkipWhen(members.Cluster is null, "a Redis Cluster member is tested with redis-server only");
        var cluster = members.Cluster!;
        var twice = await Assert.ThrowsAsync<RedLockConfigurationException>(() => RedLockFactory.ConnectAsync(
            Clusters.Options([cluster.SeedEndpoint, cluster.Shards[2].Endpoint, members.Singles!.Endpoints[0]], o => o.RestartQuarantine = RestartQuarantineMode.Off), Clusters.Bound()));
        Assert.Contains("reach the same server", twice.Message, StringComparison.Ordinal);

        await using var locks = await ConnectAsync();
        foreach (var shard in cluster.Shards)
        {
            await using var probe = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(shard.Endpoint);
            object[] hashes = [.. RedLockNet.Nodes.Scripts.ScriptCatalog.LockNodeScripts.Select(s => (object)Convert.ToHexStringLower(s.Sha1))];
            var loaded = (long[])(await probe.GetServer(shard.Endpoint).ExecuteAsync("SCRIPT", ["EXISTS", .. hashes]))!;
            Assert.All(loaded, found => Assert.Equal(1, found));
        }
    }

    [Fact]
    public async Task Locks_on_many_slots_renew_in_batches_split_by_slot_and_stay_held()
    {
        Assert.SkipWhen(members.Cluster is null, "a Redis Cluster member is tested with redis-server only");
        await using var locks = await ConnectAsync();
        var request = new LockRequest { Expiry = TimeSpan.FromMilliseconds(1500) };
        var held = new List<ILockHandle>();
        for (var i = 0; i < 24; i++)
        {
            held.Add(await locks.AcquireAsync(Clusters.UniqueResource($"renewed-{i}"), request, Clusters.Bound()));
        }

        await Task.Delay(TimeSpan.FromSeconds(4), Clusters.Bound()); // several renewals of 24 locks spread over the slots
        Assert.All(held, handle => Assert.Equal(LockStatus.Held, handle.Status));
        foreach (var handle in held)
        {
            handle.EnsureValid();
            await handle.ReleaseAsync(Clusters.Bound());
        }
    }

    [Fact]
    public async Task Fencing_extension_and_every_primitive_work_with_a_cluster_member()
    {
        Assert.SkipWhen(members.Cluster is null, "a Redis Cluster member is tested with redis-server only");
        await using var locks = await ConnectAsync();
        var resource = Clusters.UniqueResource("fenced");
        long first;
        await using (var held = await locks.AcquireAsync(resource, new LockRequest { FencingOnAcquire = true, AutoRenew = false }, Clusters.Bound()))
        {
            first = held.FencingToken!.Value;
            await held.ExtendAsync(TimeSpan.FromSeconds(20), Clusters.Bound());
        }

        await using (var again = await locks.AcquireAsync(resource, new LockRequest { FencingOnAcquire = true }, Clusters.Bound()))
        {
            Assert.True(again.FencingToken > first);
        }

        var semaphore = Clusters.UniqueResource("permits");
        await using (var one = await locks.AcquireSemaphoreAsync(semaphore, 2, cancellationToken: Clusters.Bound()))
        await using (var two = await locks.AcquireSemaphoreAsync(semaphore, 2, cancellationToken: Clusters.Bound()))
        {
            Assert.Null(await locks.TryAcquireSemaphoreAsync(semaphore, 2, cancellationToken: Clusters.Bound()));
        }

        var rw = Clusters.UniqueResource("catalog");
        await using (await locks.AcquireReadAsync(rw, cancellationToken: Clusters.Bound()))
        {
            Assert.Null(await locks.TryAcquireWriteAsync(rw, cancellationToken: Clusters.Bound()));
        }

        await using (await locks.AcquireWriteAsync(rw, cancellationToken: Clusters.Bound()))
        {
        }

        var tag = Clusters.UniqueResource("ledger");
        await using (var together = await locks.AcquireAllAsync([$"{{{tag}}}:1", $"{{{tag}}}:2"], cancellationToken: Clusters.Bound()))
        await using (var apart = await locks.AcquireAllAsync([$"{tag}:1", $"{tag}:2"], cancellationToken: Clusters.Bound()))
        {
            Assert.Equal(2, together.Locks.Count);
            Assert.Equal(2, apart.Locks.Count);
        }
    }

    [Fact]
    public async Task A_probe_pings_every_shard_and_names_one_that_is_down()
    {
        Assert.SkipWhen(members.Cluster is null, "a Redis Cluster member is tested with redis-server only");
        await using var own = await TestRedisCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options([own.SeedEndpoint, .. members.Singles!.Endpoints], o => o.RestartQuarantine = RestartQuarantineMode.Off), Clusters.Bound());
        Assert.All(await locks.ProbeNodesAsync(cancellationToken: Clusters.Bound()), status => Assert.True(status.CanVote, status.ToString()));

        var dead = own.Shards[2];
        await dead.KillAsync(); // a PING to the seed alone would still answer
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        IReadOnlyList<NodeStatus> probed;
        while ((probed = await locks.ProbeNodesAsync(cancellationToken: Clusters.Bound()))[0].CanVote)
        {
            Assert.True(DateTime.UtcNow < deadline, "the probe never noticed the dead shard");
            await Task.Delay(50, Clusters.Bound());
        }

        Assert.Contains(dead.Endpoint, probed[0].Detail, StringComparison.Ordinal);
        Assert.True(probed[1].CanVote && probed[2].CanVote);
    }

    [Fact]
    public async Task A_shard_killed_under_a_held_lock_leaves_it_held_by_the_other_members()
    {
        Assert.SkipWhen(members.Cluster is null, "a Redis Cluster member is tested with redis-server only");
        await using var own = await TestRedisCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        var options = Clusters.Options([own.SeedEndpoint, .. members.Singles!.Endpoints], o => o.RestartQuarantine = RestartQuarantineMode.Off);
        await using var holderLocks = await RedLockFactory.ConnectAsync(options, Clusters.Bound());
        await using var otherLocks = await RedLockFactory.ConnectAsync(options, Clusters.Bound());
        var resource = Clusters.UniqueResource("sharded");
        var held = await holderLocks.AcquireAsync(resource, new LockRequest { Expiry = TimeSpan.FromMilliseconds(1500) }, Clusters.Bound());

        // the shard that owns the lock's slot (the others answer MOVED) dies; the two single servers keep the majority
        var owner = await OwnerOfAsync(own, $"redlock:{{{resource}}}");
        await owner.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(4), Clusters.Bound()); // renewals go on without it
        Assert.Equal(LockStatus.Held, held.Status);
        held.EnsureValid();
        Assert.Null(await otherLocks.TryAcquireAsync(resource, cancellationToken: Clusters.Bound()));
        await held.ReleaseAsync(Clusters.Bound()); // two of three confirm
        await using var next = await otherLocks.TryAcquireAsync(resource, cancellationToken: Clusters.Bound());
        Assert.NotNull(next);
    }

    /// <summary>The shard whose slot range holds <paramref name="key"/>, as the cluster itself says (CLUSTER KEYSLOT, CLUSTER SLOTS).</summary>
    private static async Task<TestNode> OwnerOfAsync(TestRedisCluster cluster, string key)
    {
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{cluster.SeedEndpoint},allowAdmin=true,connectTimeout=2000");
        var server = admin.GetServer(cluster.SeedEndpoint);
        var slot = (long)await server.ExecuteAsync("CLUSTER", "KEYSLOT", key);
        foreach (var range in (StackExchange.Redis.RedisResult[])(await server.ExecuteAsync("CLUSTER", "SLOTS"))!)
        {
            var parts = (StackExchange.Redis.RedisResult[])range!;
            if ((long)parts[0] <= slot && slot <= (long)parts[1])
            {
                var port = (long)((StackExchange.Redis.RedisResult[])parts[2]!)[1];
                return cluster.Shards.Single(shard => shard.Port == port);
            }
        }

        throw new InvalidOperationException($"no shard owns slot {slot} of {key}");
    }

    private Task<RedLockFactory> ConnectAsync() =>
        RedLockFactory.ConnectAsync(Clusters.Options(members.Endpoints, o => o.RestartQuarantine = RestartQuarantineMode.Off), Clusters.Bound());
}
