using System.Collections.Concurrent;
using RedLockNet.Idempotency;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>Exactly-once-effect processing on real servers: duplicates, retries, crashes, a node down, retention.</summary>
public sealed class IdempotencyTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    private static string NewKey() => "evt_" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Twenty_concurrent_duplicates_across_replicas_run_the_handler_once_and_all_get_its_result()
    {
        await using var replica2 = await RedLockFactory.ConnectAsync(Clusters.Options(Nodes.Endpoints), Clusters.Bound());
        await using var replica3 = await RedLockFactory.ConnectAsync(Clusters.Options(Nodes.Endpoints), Clusters.Bound());
        var processors = new[] { new IdempotentProcessor(Locks), new IdempotentProcessor(replica2), new IdempotentProcessor(replica3) };
        var key = NewKey();
        var runs = 0;
        using var start = new SemaphoreSlim(0);

        var deliveries = Enumerable.Range(0, 20).Select(async i =>
        {
            await start.WaitAsync(TestContext.Current.CancellationToken);
            return await processors[i % 3].RunOnceAsync(key, async ct =>
            {
                Interlocked.Increment(ref runs);
                await Task.Delay(200, ct); // long enough for every duplicate to arrive while it runs
                return new Charge("ch_" + Guid.NewGuid().ToString("N")[..8], 4200);
            }, Clusters.Bound());
        }).ToArray();
        start.Release(20);
        var outcomes = await Task.WhenAll(deliveries);

        Assert.Equal(1, runs);
        Assert.Single(outcomes, o => o.Executed);
        Assert.Equal(19, outcomes.Count(o => o.Replayed));
        Assert.Single(outcomes.Select(o => o.Result).Distinct());
        Assert.Single(outcomes.Select(o => o.FencingToken).Distinct());
    }

    [Fact]
    public async Task A_throwing_handler_leaves_no_record_and_the_next_delivery_runs_it()
    {
        var processor = new IdempotentProcessor(Locks);
        var key = NewKey();
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            processor.RunOnceAsync<int>(key, _ => throw new InvalidOperationException("card declined"), Clusters.Bound()));

        var retried = await processor.RunOnceAsync(key, _ => Task.FromResult(7), Clusters.Bound());
        Assert.True(retried.Executed);
        Assert.Equal(7, retried.Result);

        var replayed = await processor.RunOnceAsync(key, _ => Task.FromResult(8), Clusters.Bound());
        Assert.True(replayed.Replayed);
        Assert.Equal(7, replayed.Result);
    }

    [Fact]
    public async Task A_crashed_holder_blocks_the_key_only_until_its_lock_expires_and_the_next_delivery_runs_it()
    {
        var key = NewKey();
        var options = new IdempotencyOptions { LockExpiry = TimeSpan.FromSeconds(2), InProgress = InProgressBehavior.Throw };
        var crashed = await RedLockFactory.ConnectAsync(Clusters.Options(Nodes.Endpoints), Clusters.Bound());
        var started = new TaskCompletionSource();
        var never = new TaskCompletionSource<int>();
        var zombie = new IdempotentProcessor(crashed, options).RunOnceAsync(key, _ =>
        {
            started.TrySetResult();
            return never.Task; // the process dies mid-handler
        }, TestContext.Current.CancellationToken);
        await started.Task.WaitAsync(Clusters.Bound());
        await crashed.DisposeAsync(); // connections drop: no renewal, no release, no record

        var processor = new IdempotentProcessor(Locks, options);
        await Assert.ThrowsAsync<IdempotencyInProgressException>(() => processor.RunOnceAsync(key, _ => Task.FromResult(1), Clusters.Bound()));

        IdempotencyOutcome<int>? outcome = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20); // bound: the 2 s lock must have expired long before
        while (outcome is null && DateTime.UtcNow < deadline)
        {
            try
            {
                outcome = await processor.RunOnceAsync(key, _ => Task.FromResult(2), Clusters.Bound());
            }
            catch (IdempotencyInProgressException)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
        }

        Assert.NotNull(outcome);
        Assert.True(outcome.Executed);
        Assert.Equal(2, outcome.Result);
        never.SetResult(99); // the zombie wakes: its lock is gone, so it must not record
        await Assert.ThrowsAsync<IdempotencyRecordException>(() => zombie);
        Assert.Equal(2, (await processor.RunOnceAsync(key, _ => Task.FromResult(3), Clusters.Bound())).Result);
    }

    [Fact]
    public async Task A_holder_whose_lock_was_taken_away_does_not_write_its_record()
    {
        var processor = new IdempotentProcessor(Locks);
        var key = NewKey();
        var resource = "idempotency:" + key;
        await Assert.ThrowsAsync<IdempotencyRecordException>(() => processor.RunOnceAsync(key, async ct =>
        {
            // the lock vanishes on every node while the handler runs (as after a pause past its TTL)
            await Probe.EventuallyAsync(resource, v => v is not null);
            for (var node = 0; node < Nodes.Endpoints.Count; node++)
            {
                await Probe.DeleteAsync(resource, node);
            }

            return 1;
        }, Clusters.Bound()));

        var next = await processor.RunOnceAsync(key, _ => Task.FromResult(2), Clusters.Bound());
        Assert.True(next.Executed);
        Assert.Equal(2, next.Result);
    }

    [Fact]
    public async Task A_concurrent_duplicate_can_be_refused_at_once_or_wait_a_bounded_time()
    {
        var key = NewKey();
        var release = new TaskCompletionSource<string>();
        var running = new TaskCompletionSource();
        var first = new IdempotentProcessor(Locks).RunOnceAsync(key, _ =>
        {
            running.TrySetResult();
            return release.Task;
        }, Clusters.Bound());
        await running.Task.WaitAsync(Clusters.Bound());

        var refusing = new IdempotentProcessor(Locks, new IdempotencyOptions { InProgress = InProgressBehavior.Throw });
        var refused = await Assert.ThrowsAsync<IdempotencyInProgressException>(() => refusing.RunOnceAsync(key, _ => Task.FromResult("no"), Clusters.Bound()));
        Assert.Equal(key, refused.Key);
        Assert.Equal(TimeSpan.Zero, refused.Waited);

        var impatient = new IdempotentProcessor(Locks, new IdempotencyOptions { WaitTimeout = TimeSpan.FromMilliseconds(300) });
        var timedOut = await Assert.ThrowsAsync<IdempotencyInProgressException>(() => impatient.RunOnceAsync(key, _ => Task.FromResult("no"), Clusters.Bound()));
        Assert.True(timedOut.Waited >= TimeSpan.FromMilliseconds(300));

        var waiting = new IdempotentProcessor(Locks).RunOnceAsync(key, _ => Task.FromResult("no"), Clusters.Bound());
        release.SetResult("yes");
        Assert.True((await first).Executed);
        var waited = await waiting;
        Assert.True(waited.Replayed);
        Assert.Equal("yes", waited.Result);
    }

    [Fact]
    public async Task Records_last_for_their_retention_and_then_the_key_runs_again()
    {
        var processor = new IdempotentProcessor(Locks);
        var key = NewKey();
        var request = new IdempotencyRequest { Retention = TimeSpan.FromSeconds(2) };
        Assert.True((await processor.RunOnceAsync(key, (_, _) => Task.FromResult(1), request, Clusters.Bound())).Executed);
        Assert.True((await processor.RunOnceAsync(key, (_, _) => Task.FromResult(2), request, Clusters.Bound())).Replayed);

        IdempotencyOutcome<int> later;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        do
        {
            await Task.Delay(250, TestContext.Current.CancellationToken);
            later = await processor.RunOnceAsync(key, (_, _) => Task.FromResult(3), request, Clusters.Bound());
        }
        while (later.Replayed && DateTime.UtcNow < deadline);

        Assert.True(later.Executed);
        Assert.Equal(3, later.Result);
    }

    [Fact]
    public async Task A_result_over_the_size_limit_is_a_clear_error_now_and_on_replay_without_a_second_run()
    {
        var processor = new IdempotentProcessor(Locks, new IdempotencyOptions { MaxResultBytes = 16 });
        var key = NewKey();
        var runs = 0;
        var big = await Assert.ThrowsAsync<IdempotencyResultTooLargeException>(() =>
            processor.RunOnceAsync(key, _ => Task.FromResult(new string('x', Interlocked.Increment(ref runs) * 100)), Clusters.Bound()));
        Assert.Equal(16, big.Limit);
        Assert.True(big.Size > 16);
        await Assert.ThrowsAsync<IdempotencyResultTooLargeException>(() =>
            processor.RunOnceAsync(key, _ => Task.FromResult(new string('x', Interlocked.Increment(ref runs))), Clusters.Bound()));
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task The_handler_gets_the_fencing_token_of_its_run()
    {
        var processor = new IdempotentProcessor(Locks);
        long seen = 0;
        var outcome = await processor.RunOnceAsync(NewKey(), (ctx, _) =>
        {
            seen = ctx.FencingToken;
            return Task.FromResult(true);
        }, cancellationToken: Clusters.Bound());
        Assert.True(seen > 0);
        Assert.Equal(seen, outcome.FencingToken);
    }

    [Fact]
    public async Task Bad_input_names_the_parameter_and_writes_nothing()
    {
        // its own prefix: whatever a refused call wrote would carry it, and the fixture's other tests write beside us
        var prefix = $"bad-input-{Guid.NewGuid():N}:";
        var processor = new IdempotentProcessor(Locks, new IdempotencyOptions { ResourcePrefix = prefix });
        Assert.Equal("key", (await Assert.ThrowsAsync<ArgumentException>(() => processor.RunOnceAsync(" ", _ => Task.FromResult(1), Clusters.Bound()))).ParamName);
        Assert.Equal("key", (await Assert.ThrowsAsync<ArgumentException>(() => processor.RunOnceAsync(new string('k', 2000), _ => Task.FromResult(1), Clusters.Bound()))).ParamName);
        Assert.Equal("request.Retention", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            processor.RunOnceAsync(NewKey(), (_, _) => Task.FromResult(1), new IdempotencyRequest { Retention = TimeSpan.Zero }, Clusters.Bound()))).ParamName);
        Assert.Equal("request.LockExpiry", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            processor.RunOnceAsync(NewKey(), (_, _) => Task.FromResult(1), new IdempotencyRequest { LockExpiry = TimeSpan.FromMilliseconds(1) }, Clusters.Bound()))).ParamName);
        Assert.Equal("options.MaxResultBytes", Assert.Throws<ArgumentOutOfRangeException>(() => new IdempotentProcessor(Locks, new IdempotencyOptions { MaxResultBytes = -1 })).ParamName);
        Assert.Equal("options.WaitTimeout", Assert.Throws<ArgumentOutOfRangeException>(() => new IdempotentProcessor(Locks, new IdempotencyOptions { WaitTimeout = TimeSpan.FromDays(1) })).ParamName);
        Assert.Empty(await Probe.KeysContainingAsync(prefix));
    }

    internal sealed record Charge(string Id, long Amount);
}

/// <summary>Idempotency with a node down: its own cluster, since it kills a node.</summary>
public sealed class IdempotencyNodeFaultTests
{
    [Fact]
    public async Task One_node_down_changes_nothing()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await using var other = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await cluster.Nodes[1].KillAsync();
        var processors = new[] { new IdempotentProcessor(locks), new IdempotentProcessor(other) };
        var key = "evt_" + Guid.NewGuid().ToString("N");
        var runs = 0;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => processors[i % 2].RunOnceAsync(key, async ct =>
        {
            Interlocked.Increment(ref runs);
            await Task.Delay(100, ct);
            return i;
        }, Clusters.Bound())));

        Assert.Equal(1, runs);
        Assert.Single(outcomes.Select(o => o.Result).Distinct());
        var replay = await processors[1].RunOnceAsync(key, _ => Task.FromResult(-1), Clusters.Bound());
        Assert.True(replay.Replayed);
    }
}
