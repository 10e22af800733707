using RedLockNet.Idempotency;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>
/// Three real Redis Clusters of 3 masters each (<see cref="TestRedisCluster"/>, 9 redis-server processes), each one
/// Redlock member. redis-server only: on another backend the tests are skipped.
/// </summary>
public sealed class RedisClusterMembers : IAsyncLifetime
{
    public IReadOnlyList<TestRedisCluster> Clusters { get; private set; } = [];

    /// <summary>Whether the clusters run (redis-server backend).</summary>
    public bool Running => Clusters.Count == 3;

    /// <summary>The members, each by one seed endpoint.</summary>
    public IReadOnlyList<string> Endpoints => [.. Clusters.Select(cluster => cluster.SeedEndpoint)];

    public async ValueTask InitializeAsync()
    {
        if (NodeBackendSelector.FromEnvironment() != NodeBackend.RedisServer)
        {
            return;
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var starts = Enumerable.Range(0, 3).Select(_ => TestRedisCluster.StartAsync(3, cancellationToken: cts.Token)).ToArray();
        try
        {
            Clusters = await Task.WhenAll(starts);
        }
        catch
        {
            foreach (var start in starts.Where(start => start.IsCompletedSuccessfully))
            {
                await start.Result.DisposeAsync();
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Clusters.Select(cluster => cluster.DisposeAsync().AsTask()));
    }
}

/// <summary>
/// Every feature with three Redis Cluster members, restart quarantine on (per shard: a shard that restarted empty is out
/// of the vote for the slots it owns), and the faults a cluster adds: a shard killed, a shard restarted empty.
/// </summary>
public sealed class RedisClusterMemberTests(RedisClusterMembers members) : IClassFixture<RedisClusterMembers>
{
    private const string Skip = "a Redis Cluster member is tested with redis-server only";

    [Fact]
    public async Task Two_members_that_share_a_shard_are_refused_and_every_shard_has_the_scripts()
    {
        Assert.SkipUnless(members.Running, Skip);
        var (a, b) = (members.Clusters[0], members.Clusters[1]);
        var twice = await Assert.ThrowsAsync<RedLockConfigurationException>(() => RedLockFactory.ConnectAsync(
            Clusters.Options([a.SeedEndpoint, b.SeedEndpoint, a.Shards[2].Endpoint]), Clusters.Bound()));
        Assert.Contains("reach the same server", twice.Message, StringComparison.Ordinal);

        await using var locks = await ConnectAsync();
        object[] hashes = [.. RedLockNet.Nodes.Scripts.ScriptCatalog.LockNodeScripts.Concat(RedLockNet.Nodes.Scripts.ScriptCatalog.ClusterShardScripts).Select(s => (object)Convert.ToHexStringLower(s.Sha1))];
        foreach (var shard in members.Clusters.SelectMany(cluster => cluster.Shards))
        {
            await using var probe = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(shard.Endpoint);
            var loaded = (long[])(await probe.GetServer(shard.Endpoint).ExecuteAsync("SCRIPT", ["EXISTS", .. hashes]))!;
            Assert.All(loaded, found => Assert.Equal(1, found));
        }
    }

    [Fact]
    public async Task A_cluster_member_with_replicas_is_warned_about_once_and_members_without_are_not()
    {
        Assert.SkipUnless(members.Running, Skip);
        await using var replicated = await TestRedisCluster.StartAsync(3, cancellationToken: Clusters.Bound(), replicasPerShard: 1);
        Assert.Equal(3, replicated.Replicas.Count);
        var log = new TestLoggerFactory();
        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options([replicated.SeedEndpoint, members.Endpoints[1], members.Endpoints[2]], o => o.LoggerFactory = log), Clusters.Bound());
        var warning = Assert.Single(log.Lines, line => line.Contains("replica(s) across its shards", StringComparison.Ordinal));
        Assert.Contains(replicated.SeedEndpoint, warning, StringComparison.Ordinal);
        Assert.Contains("has 3 replica(s)", warning, StringComparison.Ordinal);
        Assert.DoesNotContain(log.Lines, line => line.Contains("connected replica", StringComparison.Ordinal)); // not warned twice, per shard
        await using (await locks.AcquireAsync(Clusters.UniqueResource("replicated"), cancellationToken: Clusters.Bound()))
        {
        }
    }

    [Fact]
    public async Task Locks_fencing_and_extension_work_and_locks_on_many_slots_renew_in_batches_split_by_slot()
    {
        Assert.SkipUnless(members.Running, Skip);
        await using var locks = await ConnectAsync();
        var resource = Clusters.UniqueResource("fenced");
        long first;
        await using (var held = await locks.AcquireAsync(resource, new LockRequest { FencingOnAcquire = true, AutoRenew = false }, Clusters.Bound()))
        {
            first = held.FencingToken!.Value;
            Assert.Null(await locks.TryAcquireAsync(resource, cancellationToken: Clusters.Bound()));
            await held.ExtendAsync(TimeSpan.FromSeconds(20), Clusters.Bound());
        }

        await using (var again = await locks.AcquireAsync(resource, new LockRequest { FencingOnAcquire = true }, Clusters.Bound()))
        {
            Assert.True(again.FencingToken > first);
        }

        var request = new LockRequest { Expiry = TimeSpan.FromMilliseconds(1500) };
        var held24 = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => locks.AcquireAsync(Clusters.UniqueResource($"renewed-{i}"), request, Clusters.Bound())));
        await Task.Delay(TimeSpan.FromSeconds(4), Clusters.Bound()); // several renewals of 24 locks spread over the slots
        Assert.All(held24, handle => Assert.Equal(LockStatus.Held, handle.Status));
        foreach (var handle in held24)
        {
            handle.EnsureValid();
            await handle.ReleaseAsync(Clusters.Bound());
        }
    }

    [Fact]
    public async Task Semaphores_reader_writer_locks_and_multi_locks_work()
    {
        Assert.SkipUnless(members.Running, Skip);
        await using var locks = await ConnectAsync();
        var semaphore = Clusters.UniqueResource("permits");
        await using (var one = await locks.AcquireSemaphoreAsync(semaphore, 2, cancellationToken: Clusters.Bound()))
        await using (var two = await locks.AcquireSemaphoreAsync(semaphore, 2, cancellationToken: Clusters.Bound()))
        {
            Assert.Null(await locks.TryAcquireSemaphoreAsync(semaphore, 2, cancellationToken: Clusters.Bound()));
        }

        var rw = Clusters.UniqueResource("catalog");
        await using (await locks.AcquireReadAsync(rw, cancellationToken: Clusters.Bound()))
        await using (await locks.AcquireReadAsync(rw, cancellationToken: Clusters.Bound()))
        {
            Assert.Null(await locks.TryAcquireWriteAsync(rw, cancellationToken: Clusters.Bound()));
        }

        await using (await locks.AcquireWriteAsync(rw, cancellationToken: Clusters.Bound()))
        {
            Assert.Null(await locks.TryAcquireReadAsync(rw, cancellationToken: Clusters.Bound()));
        }

        // one slot (documented: resources that start with the same {tag} share a slot, and take one round), then several
        var tag = Clusters.UniqueResource("ledger");
        await using (var together = await locks.AcquireAllAsync([$"{{{tag}}}:1", $"{{{tag}}}:2"], cancellationToken: Clusters.Bound()))
        await using (var apart = await locks.AcquireAllAsync([$"{tag}:1", $"{tag}:2", $"{tag}:3"], cancellationToken: Clusters.Bound()))
        {
            Assert.Equal(2, together.Locks.Count);
            Assert.Equal(3, apart.Locks.Count);
            Assert.Null(await locks.TryAcquireAsync($"{tag}:2", cancellationToken: Clusters.Bound()));
        }
    }

    [Fact]
    public async Task Quorum_records_tick_claims_and_idempotent_processing_work()
    {
        Assert.SkipUnless(members.Running, Skip);
        await using var locks = await ConnectAsync();
        var resource = Clusters.UniqueResource("ticks");
        var claim = new LockRecordClaim("tick:1", "first", 1, "last") { Retention = TimeSpan.FromMinutes(5), HighWaterRetention = TimeSpan.FromMinutes(5) };
        await using (var holder = await locks.AcquireAsync(resource, cancellationToken: Clusters.Bound()))
        {
            Assert.Equal(LockRecordWriteOutcome.Written, (await locks.Records.ClaimAsync(holder, claim, Clusters.Bound())).Outcome);
            Assert.Equal(LockRecordWriteOutcome.Written, (await locks.Records.WriteAsync(holder, "state", "v1", new LockRecordWriteOptions { Retention = TimeSpan.FromMinutes(5) }, Clusters.Bound())).Outcome);
        }

        await using (var next = await locks.AcquireAsync(resource, cancellationToken: Clusters.Bound()))
        {
            var again = await locks.Records.ClaimAsync(next, claim with { Value = "second" }, Clusters.Bound());
            Assert.NotEqual(LockRecordWriteOutcome.Written, again.Outcome);
            Assert.Equal("first", again.OtherValue);
        }

        var read = await locks.Records.ReadAsync(resource, "state", TimeSpan.FromMinutes(5), Clusters.Bound());
        Assert.True(read.FromMajority);
        Assert.All(read.Values, value => Assert.Equal("v1", value)); // written to all three, read from all three

        var processor = new IdempotentProcessor(locks, new IdempotencyOptions { WaitTimeout = TimeSpan.FromSeconds(10) });
        var webhook = Clusters.UniqueResource("webhook");
        var runs = 0;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => processor.RunOnceAsync(webhook, async ct =>
        {
            Interlocked.Increment(ref runs);
            await Task.Delay(100, ct);
            return "charged";
        }, Clusters.Bound())));
        Assert.Equal(1, runs);
        Assert.Single(outcomes, outcome => outcome.Executed);
        Assert.All(outcomes, outcome => Assert.Equal("charged", outcome.Result));
    }

    /// <summary>
    /// A member whose every shard is down at connect is not known to be a cluster then; once it answers, its shards are
    /// watched from first contact (they started after the client did: quarantined for the period) and then vote.
    /// Before, its grants kept the single-server epoch check, whose key lies in another slot, and it never voted.
    /// </summary>
    [Fact]
    public async Task A_cluster_member_down_at_connect_votes_once_it_is_back_and_out_of_quarantine()
    {
        Assert.SkipUnless(members.Running, Skip);
        await using var late = await TestRedisCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        foreach (var shard in late.Shards)
        {
            await shard.KillAsync();
        }

        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options([late.SeedEndpoint, members.Endpoints[1], members.Endpoints[2]], o =>
            {
                o.DefaultExpiry = TimeSpan.FromSeconds(1);
                o.RestartQuarantinePeriod = TimeSpan.FromSeconds(3);
            }),
            Clusters.Bound());
        await late.RestartEmptyAsync(Clusters.Bound());

        // the other two members grant all along; the late one must come to hold the locks too
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{late.SeedEndpoint},connectTimeout=2000");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var resource = Clusters.UniqueResource("late");
            await using (await locks.AcquireAsync(resource, cancellationToken: Clusters.Bound()))
            {
                if (await admin.GetDatabase().KeyExistsAsync($"redlock:{{{resource}}}"))
                {
                    break;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "the member that was down at connect never held a lock");
            await Task.Delay(200, Clusters.Bound());
        }
    }

    [Fact]
    public async Task Three_replicas_elect_one_leader_and_run_every_tick_of_a_per_second_job_once()
    {
        Assert.SkipUnless(members.Running, Skip);
        var ledger = new Hosting.RunLedger();
        var replicas = await Hosting.Replicas.StartAsync(members.Endpoints, Hosting.Replicas.Election("cluster-cron"), ledger);
        try
        {
            Assert.True(await Hosting.Replicas.UntilAsync(() => replicas.Any(r => r.IsLeader), TimeSpan.FromSeconds(15)), "no replica became leader");
            var first = Hosting.Replicas.NextWholeSecond(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1));
            var window = Enumerable.Range(0, 8).Select(i => first.AddSeconds(i)).ToList();
            var ranAll = await Hosting.Replicas.UntilAsync(() => ledger.Ran(window[^1]), window[^1] - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(8));
            foreach (var replica in replicas)
            {
                await replica.StopAsync();
            }

            Hosting.Replicas.Report(ledger, replicas);
            Assert.True(ranAll, $"tick {window[^1]:HH:mm:ss} never ran");
            Assert.Empty(ledger.Twice());
            Assert.All(window, tick => Assert.True(ledger.Runs.TryGetValue(tick, out var runs) && runs.Count == 1, $"tick {tick:HH:mm:ss} did not run exactly once"));
        }
        finally
        {
            await Hosting.Replicas.DisposeAllAsync(replicas);
        }
    }

    /// <summary>
    /// The Redlock spec's restart scenario on shards: the holder's lock is on the three members; the shard that owns its
    /// slot restarts empty in two of them. A second client, watching all along, is refused (those two shards are in
    /// quarantine) while the holder is valid, yet gets a resource whose slot the restarted shards do not own; the probe
    /// names the quarantined shards. A shard that loses its data without restarting (FLUSHALL: same process, same
    /// connection) is found by its epoch, which every grant checks in its own slot. The control (quarantine off) lets
    /// the second client in beside the holder.
    /// </summary>
    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task A_shard_restarted_empty_is_out_of_the_vote_for_its_slots_only(bool quarantine, bool flushInstead)
    {
        Assert.SkipUnless(members.Running, Skip);
        var ttl = TimeSpan.FromSeconds(40);
        RedLockOptions Options(RedLockOptions o)
        {
            o.RestartQuarantine = quarantine ? RestartQuarantineMode.WhenNotPersistent : RestartQuarantineMode.Off;
            o.RestartQuarantinePeriod = ttl + TimeSpan.FromSeconds(1);
            return o;
        }

        await using var holderLocks = await RedLockFactory.ConnectAsync(Options(Clusters.Options(members.Endpoints)), Clusters.Bound());
        await using var secondLocks = await RedLockFactory.ConnectAsync(Options(Clusters.Options(members.Endpoints)), Clusters.Bound());
        var resource = Clusters.UniqueResource("restart-empty");
        var holder = await holderLocks.AcquireAsync(resource, new LockRequest { Expiry = ttl, AutoRenew = false }, Clusters.Bound());
        // the second client tries once before the loss (so it has marked the slot with each shard's epoch, and a loss
        // must be found by the grant's own epoch check)
        Assert.Null(await secondLocks.TryAcquireAsync(resource, cancellationToken: Clusters.Bound()));
        var key = $"redlock:{{{resource}}}";
        var restarted = new int[2];
        for (var m = 0; m < 2; m++)
        {
            restarted[m] = await members.Clusters[m].ShardOfAsync(key, Clusters.Bound());
            if (flushInstead)
            {
                var endpoint = members.Clusters[m].Shards[restarted[m]].Endpoint;
                await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{endpoint},allowAdmin=true,connectTimeout=2000");
                await admin.GetServer(endpoint).FlushAllDatabasesAsync();
            }
            else
            {
                await members.Clusters[m].RestartShardEmptyAsync(restarted[m], Clusters.Bound());
            }
        }

        Console.WriteLine($"{(flushInstead ? "flushed" : "restarted")} shard {restarted[0]} of member 0 and {restarted[1]} of member 1 (owners of {key})");
        ILockHandle? second;
        QuorumUnavailableException? refusal = null;
        try
        {
            // long enough for the second client to reconnect to both restarted shards and win, if it can
            second = await secondLocks.TryAcquireAsync(resource, new LockRequest { Expiry = ttl, WaitTimeout = TimeSpan.FromSeconds(5) }, Clusters.Bound());
        }
        catch (QuorumUnavailableException ex)
        {
            (second, refusal) = (null, ex);
        }

        Assert.True(holder.RemainingValidity > TimeSpan.Zero, "the holder ran out before the check; the scenario proves nothing");
        if (!quarantine)
        {
            Assert.NotNull(second); // the control: two holders at once, what per-shard quarantine prevents
            Assert.True(second.RemainingValidity > TimeSpan.Zero);
            return;
        }

        Assert.Null(second);
        if (refusal is not null)
        {
            Assert.Contains(refusal.Failures, f => f.Kind == NodeFailureKind.Quarantined);
        }

        // a resource on shards that did not restart: the other shards of the same members vote at once
        var elsewhere = await ResourceAvoidingAsync(restarted);
        await using (var other = await secondLocks.TryAcquireAsync(elsewhere, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(5) }, Clusters.Bound()))
        {
            Assert.NotNull(other);
        }

        var statuses = await secondLocks.ProbeNodesAsync(cancellationToken: Clusters.Bound());
        for (var m = 0; m < 2; m++)
        {
            Assert.Equal(NodeFailureKind.Quarantined, statuses[m].Failure);
            Assert.Contains(members.Clusters[m].Shards[restarted[m]].Endpoint, statuses[m].Detail, StringComparison.Ordinal);
        }

        Assert.True(statuses[2].CanVote);
        await holder.ReleaseAsync(Clusters.Bound());
    }

    [Fact]
    public async Task A_shard_killed_under_a_held_lock_leaves_it_held_and_the_probe_names_the_shard()
    {
        Assert.SkipUnless(members.Running, Skip);
        await using var holderLocks = await ConnectAsync();
        await using var otherLocks = await ConnectAsync();
        var resource = Clusters.UniqueResource("sharded");
        var held = await holderLocks.AcquireAsync(resource, new LockRequest { Expiry = TimeSpan.FromMilliseconds(1500) }, Clusters.Bound());

        // the shard of member 2 that owns the lock's slot dies; members 0 and 1 keep the majority
        var cluster = members.Clusters[2];
        var owner = await cluster.ShardOfAsync($"redlock:{{{resource}}}", Clusters.Bound());
        await cluster.Shards[owner].KillAsync();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(4), Clusters.Bound()); // renewals go on without it
            Assert.Equal(LockStatus.Held, held.Status);
            held.EnsureValid();
            Assert.Null(await otherLocks.TryAcquireAsync(resource, cancellationToken: Clusters.Bound()));

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            IReadOnlyList<NodeStatus> probed;
            while ((probed = await otherLocks.ProbeNodesAsync(cancellationToken: Clusters.Bound()))[2].CanVote)
            {
                Assert.True(DateTime.UtcNow < deadline, "the probe never noticed the dead shard");
                await Task.Delay(50, Clusters.Bound());
            }

            Assert.Contains(cluster.Shards[owner].Endpoint, probed[2].Detail, StringComparison.Ordinal);
            Assert.True(probed[0].CanVote && probed[1].CanVote);
            await held.ReleaseAsync(Clusters.Bound()); // two of three confirm
            await using var next = await otherLocks.TryAcquireAsync(resource, cancellationToken: Clusters.Bound());
            Assert.NotNull(next);
        }
        finally
        {
            await cluster.RestartShardEmptyAsync(owner, Clusters.Bound()); // the next test finds the cluster whole
        }
    }

    /// <summary>A resource whose slot shard <paramref name="avoid"/>[m] of member m does not own, for members 0 and 1.</summary>
    private async Task<string> ResourceAvoidingAsync(int[] avoid)
    {
        for (var attempt = 0; ; attempt++)
        {
            var resource = Clusters.UniqueResource("elsewhere");
            var key = $"redlock:{{{resource}}}";
            if (await members.Clusters[0].ShardOfAsync(key, Clusters.Bound()) != avoid[0] && await members.Clusters[1].ShardOfAsync(key, Clusters.Bound()) != avoid[1])
            {
                return resource;
            }

            Assert.True(attempt < 100, "no resource away from the restarted shards in 100 tries");
        }
    }

    private Task<RedLockFactory> ConnectAsync() => RedLockFactory.ConnectAsync(Clusters.Options(members.Endpoints), Clusters.Bound());
}
