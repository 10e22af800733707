using RedLockNet.Idempotency;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>
/// Restart quarantine on real servers (run without persistence here): the Redlock spec's scenario where a node that
/// granted a lock restarts empty and lets a second client win a majority.
/// </summary>
public sealed class QuarantineTests
{
    /// <summary>
    /// Long, so the holder is still valid after two restarts and the second client's 5 s of trying, however slow the
    /// machine (a clean CI run with 20 s saw a Garnet holder run out while a build ran beside it); nothing waits for it.
    /// </summary>
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Without_quarantine_a_node_restarted_empty_lets_a_second_client_hold_the_lock_too()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var holderLocks = await ConnectAsync(cluster, RestartQuarantineMode.Off);
        await using var secondLocks = await ConnectAsync(cluster, RestartQuarantineMode.Off);
        var (holder, second, _) = await RunScenarioAsync(cluster, holderLocks, secondLocks);
        // the control: the checker below must see the violation that quarantine prevents
        Assert.NotNull(second);
        Assert.True(holder.RemainingValidity > TimeSpan.Zero && second.RemainingValidity > TimeSpan.Zero, "two holders at once");
    }

    [Fact]
    public async Task With_quarantine_the_restarted_node_does_not_vote_and_the_holder_stays_alone()
    {
        var logs = new TestLoggerFactory();
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var holderLocks = await ConnectAsync(cluster, RestartQuarantineMode.WhenNotPersistent);
        await using var secondLocks = await ConnectAsync(cluster, RestartQuarantineMode.WhenNotPersistent, logs);
        var (holder, second, refusal) = await RunScenarioAsync(cluster, holderLocks, secondLocks);
        Assert.Null(second);
        // both restarted nodes are new processes to the second client: it cannot form a majority without them
        Assert.NotNull(refusal);
        Assert.Contains(refusal.Failures, f => f.Kind == NodeFailureKind.Quarantined && f.Node == cluster.Nodes[1].Endpoint);
        Assert.True(holder.RemainingValidity > TimeSpan.Zero);
        Assert.Contains(logs.Lines, l => l.Contains("restarted", StringComparison.Ordinal) && l.Contains("does not grant locks", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_quarantined_node_is_named_in_the_error_and_votes_again_once_the_period_has_passed()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options(cluster.Endpoints, o => o.RestartQuarantinePeriod = TimeSpan.FromSeconds(12)), Clusters.Bound());
        await cluster.Nodes[0].KillAsync();
        await cluster.Nodes[1].KillAsync();
        await cluster.Nodes[0].RestartAsync(Clusters.Bound());
        await cluster.Nodes[1].RestartAsync(Clusters.Bound());

        // until the clients reconnect the nodes are unreachable; then they are quarantined for the rest of the 12 s
        // (long enough to outlast a slow Garnet restart and reconnect on a loaded machine)
        var resource = Clusters.UniqueResource("quarantined");
        QuorumUnavailableException? quarantined = null;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (quarantined is null && DateTime.UtcNow < until)
        {
            var ex = await Assert.ThrowsAsync<QuorumUnavailableException>(() => locks.TryAcquireAsync(resource, Clusters.Bound()));
            if (ex.Failures.Any(f => f.Kind == NodeFailureKind.Quarantined))
            {
                quarantined = ex;
            }
            else
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }

        Assert.NotNull(quarantined);
        Assert.Contains(quarantined.Failures, f => f.Kind == NodeFailureKind.Quarantined && (f.Node == cluster.Nodes[0].Endpoint || f.Node == cluster.Nodes[1].Endpoint));
        Assert.Contains("kept out of the vote", quarantined.Message, StringComparison.Ordinal);

        await using var handle = await locks.AcquireAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(30) }, Clusters.Bound());
        Assert.NotNull(handle);
    }

    private static Task<RedLockFactory> ConnectAsync(TestNodeCluster cluster, RestartQuarantineMode mode, TestLoggerFactory? logs = null) =>
        RedLockFactory.ConnectAsync(
            Clusters.Options(cluster.Endpoints, o =>
            {
                o.RestartQuarantine = mode;
                o.RestartQuarantinePeriod = Ttl + TimeSpan.FromSeconds(1);
                o.LoggerFactory = logs;
            }),
            Clusters.Bound());

    /// <summary>
    /// The holder takes the lock while node 2 is down, so its keys are on nodes 0 and 1. Node 2 comes back, then
    /// node 1 is killed and restarted empty: the holder's key now stands on node 0 only. A second client, running all
    /// along, then tries the lock.
    /// </summary>
    private static async Task<(ILockHandle Holder, ILockHandle? Second, QuorumUnavailableException? Refusal)> RunScenarioAsync(TestNodeCluster cluster, RedLockFactory holderLocks, RedLockFactory secondLocks)
    {
        var resource = Clusters.UniqueResource("restart-empty");

        await cluster.Nodes[2].KillAsync();
        var holder = await holderLocks.AcquireAsync(resource, new LockRequest { Expiry = Ttl, AutoRenew = false }, Clusters.Bound());
        await cluster.Nodes[2].RestartAsync(Clusters.Bound());
        await cluster.Nodes[1].KillAsync();
        await cluster.Nodes[1].RestartAsync(Clusters.Bound());

        // retry for a while: the second client needs to have reconnected to both restarted nodes to win
        try
        {
            var second = await secondLocks.TryAcquireAsync(resource, new LockRequest { Expiry = Ttl, WaitTimeout = TimeSpan.FromSeconds(5) }, Clusters.Bound());
            return (holder, second, null);
        }
        catch (QuorumUnavailableException ex)
        {
            return (holder, null, ex);
        }
    }
}

/// <summary>
/// Restart quarantine for records (claims, completion records): a node that lost its data does not answer for a record
/// until its retention has passed since the loss. Apart from <see cref="QuarantineTests"/> so the two classes' waits
/// run side by side.
/// </summary>
public sealed class RecordQuarantineTests
{
    /// <summary>
    /// Found by the chaos soak (a cron tick run twice): the lock's quarantine covers the lock's expiry, not the retention
    /// of the records kept beside it, so a write-once claim (a cron tick) could be made twice once two nodes had
    /// restarted empty one after the other. Node 0 is down during the claim and comes back empty (it never sees it),
    /// node 1 loses its data after it (it forgets it). Once both are out of the lock's quarantine, a second holder claims the same tick: nodes 0 and 1 lost
    /// their data less than the claim's retention ago, so they do not answer for it, and node 2 still has it.
    /// </summary>
    [Fact]
    public async Task A_tick_claimed_once_stays_claimed_when_two_nodes_restart_empty_one_after_the_other()
    {
        var ttl = TimeSpan.FromSeconds(1);
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        RedLockOptions Options(RedLockOptions o)
        {
            o.RestartQuarantine = RestartQuarantineMode.WhenNotPersistent;
            o.RestartQuarantinePeriod = ttl + TimeSpan.FromSeconds(1); // the longest expiry any client uses, as documented
            return o;
        }

        await using var first = await RedLockFactory.ConnectAsync(Options(Clusters.Options(cluster.Endpoints)), Clusters.Bound());
        await using var second = await RedLockFactory.ConnectAsync(Options(Clusters.Options(cluster.Endpoints)), Clusters.Bound());
        var resource = Clusters.UniqueResource("claim-restart");
        var claim = new LockRecordClaim("tick:1", "first", 1, "last") { Retention = TimeSpan.FromMinutes(5), HighWaterRetention = TimeSpan.FromMinutes(5) };

        await cluster.Nodes[0].PauseAsync(); // down during the claim (paused: much faster than a Garnet restart)
        await using (var holder = await first.AcquireAsync(resource, new LockRequest { Expiry = ttl, AutoRenew = false }, Clusters.Bound()))
        {
            Assert.Equal(LockRecordWriteOutcome.Written, (await first.Records.ClaimAsync(holder, claim, Clusters.Bound())).Outcome);
        }

        // node 0 comes back having lost its data (it never saw the claim), node 1 loses its data (and the claim):
        // FLUSHALL, a new epoch on each, the path an empty restart takes
        await cluster.Nodes[0].ResumeAsync();
        await LoseDataAsync(cluster, 0, 1);

        // once both quarantines are over (every node votes for the second client) it claims the same tick; a client
        // that still keeps the restarted nodes out is safe too
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(await second.ProbeNodesAsync(cancellationToken: Clusters.Bound())).All(n => n.CanVote) && waited.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        ILockHandle next;
        try
        {
            next = await second.AcquireAsync(resource, new LockRequest { Expiry = ttl, AutoRenew = false, WaitTimeout = TimeSpan.FromSeconds(15) }, Clusters.Bound());
        }
        catch (QuorumUnavailableException)
        {
            return;
        }

        await using (next)
        {
            var again = await second.Records.ClaimAsync(next, claim with { Value = "second" }, Clusters.Bound());
            Assert.NotEqual(LockRecordWriteOutcome.Written, again.Outcome);
            Assert.Equal(2, again.Failures.Count(f => f.Kind == NodeFailureKind.Quarantined && f.Detail.Contains("record's retention", StringComparison.Ordinal)));

            // a read of the claim does not take the forgetful nodes' "none" for an answer either
            var read = await second.Records.ReadAsync(resource, claim.Name, claim.Retention, Clusters.Bound());
            Assert.False(read.FromMajority);
            Assert.Equal(["first"], read.Values);
        }
    }

    /// <summary>
    /// A claim says when its slot could first have been claimed (a tick: its time less a clock-skew allowance). A node
    /// that lost its data before then cannot have forgotten it and answers; for a slot claimable before the loss it
    /// stays out for the claim's retention. This keeps a cron runner claiming new ticks after an empty restart.
    /// </summary>
    [Fact]
    public async Task A_node_that_lost_its_data_answers_for_claims_that_could_only_be_made_after_the_loss()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await ConnectForRecordsAsync(cluster);
        var beforeLoss = DateTimeOffset.UtcNow;
        await LoseDataAsync(cluster, 0);

        // the next grant finds node 0's new epoch; once its lock quarantine is over it votes on locks again
        for (var i = 0; i < 3; i++)
        {
            await using (await locks.AcquireAsync(Clusters.UniqueResource("notice"), Clusters.Bound()))
            {
            }
        }

        await WaitUntilEveryNodeVotesAsync(locks);
        var afterLoss = DateTimeOffset.UtcNow;
        await using var holder = await locks.AcquireAsync(Clusters.UniqueResource("claims"), new LockRequest { WaitTimeout = TimeSpan.FromSeconds(10) }, Clusters.Bound());
        LockRecordClaim Claim(long sequence, DateTimeOffset notBefore) =>
            new($"tick:{sequence}", "a", sequence, "last") { Retention = TimeSpan.FromMinutes(5), HighWaterRetention = TimeSpan.FromMinutes(5), NotBefore = notBefore };

        var newTick = await locks.Records.ClaimAsync(holder, Claim(2, afterLoss), Clusters.Bound());
        Assert.Equal((LockRecordWriteOutcome.Written, 3), (newTick.Outcome, newTick.Confirmed));

        var oldTick = await locks.Records.ClaimAsync(holder, Claim(1, beforeLoss), Clusters.Bound());
        Assert.Equal((LockRecordWriteOutcome.Written, 2), (oldTick.Outcome, oldTick.Confirmed));
        Assert.Contains(oldTick.Failures, f => f.Kind == NodeFailureKind.Quarantined && f.Node == cluster.Nodes[0].Endpoint);
    }

    /// <summary>
    /// The idempotency side of the same gap: once the nodes holding a completion record lost their data, every node
    /// would answer "no record" and a redelivery would run the handler again. Each lost its data (FLUSHALL: a new
    /// epoch, the same path as an empty restart, much faster on Garnet) less than the record's retention ago, so none
    /// answers for it, and the redelivery is refused with the nodes named instead.
    /// </summary>
    [Fact]
    public async Task A_redelivery_after_the_nodes_holding_its_record_lost_their_data_is_refused_not_run_again()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await ConnectForRecordsAsync(cluster);
        var processor = new IdempotentProcessor(locks, new IdempotencyOptions { Retention = TimeSpan.FromMinutes(5), WaitTimeout = TimeSpan.FromSeconds(2), LockExpiry = TimeSpan.FromSeconds(2) });
        var key = "evt_" + Guid.NewGuid().ToString("N");
        var runs = 0;
        Task<int> Handler(CancellationToken ct) => Task.FromResult(Interlocked.Increment(ref runs));

        Assert.True((await processor.RunOnceAsync(key, Handler, Clusters.Bound())).Executed);
        await LoseDataAsync(cluster, 0, 1, 2);

        // a grant attempt meets the new epochs (no event told the client); the probes then check the nodes, and wait
        // out their lock quarantine: what remains is the records' quarantine
        await Assert.ThrowsAsync<QuorumUnavailableException>(() => locks.TryAcquireAsync(Clusters.UniqueResource("notice"), Clusters.Bound()));
        await WaitUntilEveryNodeVotesAsync(locks);

        var refused = await Assert.ThrowsAsync<QuorumUnavailableException>(() => processor.RunOnceAsync(key, Handler, Clusters.Bound()));
        Assert.Equal(1, runs);
        Assert.Contains(refused.Failures, f => f.Kind == NodeFailureKind.Quarantined && f.Detail.Contains("record's retention", StringComparison.Ordinal));
    }

    /// <summary>A factory whose nodes' lock quarantine (2 s) is far shorter than the records' retention.</summary>
    private static Task<RedLockFactory> ConnectForRecordsAsync(TestNodeCluster cluster) =>
        RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints, o =>
        {
            o.RestartQuarantine = RestartQuarantineMode.WhenNotPersistent;
            o.RestartQuarantinePeriod = TimeSpan.FromSeconds(2);
        }), Clusters.Bound());

    /// <summary>FLUSHALL on <paramref name="nodes"/>: they lose their data (and epoch) without restarting.</summary>
    private static async Task LoseDataAsync(TestNodeCluster cluster, params int[] nodes)
    {
        foreach (var node in nodes)
        {
            await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(new StackExchange.Redis.ConfigurationOptions { EndPoints = { cluster.Endpoints[node] }, AllowAdmin = true, ConnectTimeout = 2000 });
            await admin.GetServer(cluster.Endpoints[node]).FlushAllDatabasesAsync();
        }
    }

    /// <summary>Probes until every node may vote on locks again (their records' quarantine may go on), bounded.</summary>
    private static async Task WaitUntilEveryNodeVotesAsync(RedLockFactory locks)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(await locks.ProbeNodesAsync(cancellationToken: Clusters.Bound())).All(n => n.CanVote) && waited.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
