using System.Diagnostics.Metrics;
using RedLockNet.Diagnostics;
using RedLockNet.TestRig;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>Fencing tokens on real server processes, and the fenced write helper on a separate "resource" node.</summary>
public sealed class FencingTests
{
    [Fact]
    public async Task A_paused_holders_stale_write_is_refused_after_the_lock_passed_on()
    {
        // nodes 0-2 hold the locks; node 3 is the protected resource
        await using var cluster = await TestNodeCluster.StartAsync(4, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints.Take(3)), Clusters.Bound());
        await using var store = await ConnectionMultiplexer.ConnectAsync(cluster.Endpoints[3]);
        var data = store.GetDatabase();

        var paused = await locks.AcquireAsync("invoice:42", new LockRequest { Expiry = TimeSpan.FromMilliseconds(300), AutoRenew = false }, Clusters.Bound());
        Assert.Null(paused.FencingToken); // nothing minted yet: a missing token is null, never 0
        var pausedToken = await paused.GetFencingTokenAsync(TestContext.Current.CancellationToken);
        Assert.Equal(pausedToken, paused.FencingToken);
        Assert.True(await data.FencedSetAsync("invoice:42", "draft by first holder", pausedToken, cancellationToken: TestContext.Current.CancellationToken));

        // the first holder stalls (a long GC pause) past its expiry; the lock passes on
        await Task.Delay(500, TestContext.Current.CancellationToken);
        await using var next = await locks.AcquireAsync("invoice:42", Clusters.Bound());
        var nextToken = await next.GetFencingTokenAsync(TestContext.Current.CancellationToken);
        Assert.True(nextToken > pausedToken);
        Assert.True(await data.FencedSetAsync("invoice:42", "final by second holder", nextToken, cancellationToken: TestContext.Current.CancellationToken));

        // the first holder wakes up and writes with its stale token: refused
        Assert.False(await data.FencedSetAsync("invoice:42", "stale overwrite", pausedToken, cancellationToken: TestContext.Current.CancellationToken));
        Assert.True(await data.FencedSetAsync("invoice:42", "second write by second holder", nextToken, cancellationToken: TestContext.Current.CancellationToken)); // same token: fine
        var stored = await data.FencedGetAsync("invoice:42", TestContext.Current.CancellationToken);
        Assert.Equal("second write by second holder", stored!.Value.Value);
        Assert.Equal(nextToken, stored.Value.FencingToken);
    }

    [Fact]
    public async Task Tokens_strictly_increase_in_the_order_holders_hold_the_lock_under_contention()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        var factories = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound())));
        var rounds = new int[3];
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RedLockTelemetry.Name && instrument.Name == "redlock.fencing.settlements")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == RedLockNet.Diagnostics.RedLockTags.FencingRounds)
                {
                    Interlocked.Increment(ref rounds[(int)tag.Value!]);
                }
            }
        });
        listener.Start();

        var seen = new List<long>();
        try
        {
            // half mint the token in the acquiring script, half mint it afterwards: both kinds must interleave in order
            var onAcquire = new LockRequest { Expiry = TimeSpan.FromSeconds(5), WaitTimeout = TimeSpan.FromSeconds(60), FencingOnAcquire = true };
            var later = onAcquire with { FencingOnAcquire = false };
            await Task.WhenAll(Enumerable.Range(0, 80).Select(async i =>
            {
                await using var handle = await factories[i % factories.Length].AcquireAsync("fenced-counter", i % 2 == 0 ? onAcquire : later, Clusters.Bound(90));
                Assert.Equal(i % 2 == 0, handle.FencingToken is not null);
                var token = await handle.GetFencingTokenAsync(Clusters.Bound());
                lock (seen)
                {
                    seen.Add(token); // recorded while holding: the order of holding
                }

                await Task.Yield();
            }));
        }
        finally
        {
            foreach (var factory in factories)
            {
                await factory.DisposeAsync();
            }
        }

        Assert.Equal(80, seen.Count);
        for (var i = 1; i < seen.Count; i++)
        {
            Assert.True(seen[i] > seen[i - 1], $"holder {i} got {seen[i]} after {seen[i - 1]}");
        }

        // the meter is process-wide: tests running beside this one add to these counts
        TestContext.Current.TestOutputHelper?.WriteLine($"fencing settlements while 80 contended acquisitions ran: {rounds[1]} in one round, {rounds[2]} needed the second");
        Assert.True(rounds[1] + rounds[2] >= 80, "every handed-out token is settled, and counted");
    }

    [Fact]
    public async Task Tokens_keep_rising_when_a_node_restarts_empty()
    {
        // quarantine off, so every restarted node votes (and counts its forgotten counter) at once
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options(cluster.Endpoints, o => o.RestartQuarantine = RestartQuarantineMode.Off), Clusters.Bound());
        var last = 0L;
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 10; i++)
            {
                await using var handle = await locks.AcquireAsync("restarts", new LockRequest { WaitTimeout = TimeSpan.FromSeconds(15) }, Clusters.Bound());
                var token = await handle.GetFencingTokenAsync(Clusters.Bound());
                Assert.True(token > last, $"round {round}: {token} after {last}");
                last = token;
            }

            // the node forgets its counters; the clock floor keeps new tokens above the old ones
            await cluster.Nodes[round].RestartAsync(Clusters.Bound());
        }
    }

    [Fact]
    public async Task With_fencing_off_there_is_no_token_and_no_counter_is_kept()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints, o => o.Fencing = false), Clusters.Bound());
        await using var probe = await NodeProbe.ConnectAsync(cluster.Endpoints);
        var handle = await locks.AcquireAsync("unfenced", new LockRequest { FencingOnAcquire = true }, Clusters.Bound());
        Assert.Null(handle.FencingToken);
        await Assert.ThrowsAsync<InvalidOperationException>(() => handle.GetFencingTokenAsync(Clusters.Bound()).AsTask());
        await handle.ReleaseAsync(Clusters.Bound());
        await probe.AssertNoKeysAsync();
    }

    [Fact]
    public async Task A_default_acquisition_writes_no_counter_until_a_token_is_asked_for()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await using var probe = await NodeProbe.ConnectAsync(cluster.Endpoints);
        var plain = await locks.AcquireAsync("lazy", Clusters.Bound());
        Assert.Null(plain.FencingToken);
        await plain.ReleaseAsync(Clusters.Bound());
        await probe.AssertNoKeysAsync(); // no fencing counter: the common path costs nothing for fencing

        var fenced = await locks.AcquireAsync("lazy", Clusters.Bound());
        var token = await fenced.GetFencingTokenAsync(Clusters.Bound());
        Assert.Equal(token, await fenced.GetFencingTokenAsync(Clusters.Bound())); // minted once
        await fenced.ReleaseAsync(Clusters.Bound());
        await using var store = await ConnectionMultiplexer.ConnectAsync(cluster.Endpoints[0]);
        await probe.EventuallyAsync("lazy", v => v is null); // the release reached every node
        Assert.Equal(token, (long)await store.GetDatabase().StringGetAsync("redlock:{lazy}:fence"));
    }

    [Fact]
    public async Task A_holder_that_lost_its_majority_gets_no_token()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints), Clusters.Bound());
        await using var probe = await NodeProbe.ConnectAsync(cluster.Endpoints);
        var handle = await locks.AcquireAsync("deposed", new LockRequest { AutoRenew = false }, Clusters.Bound());
        await probe.EventuallyAsync("deposed", v => v == handle.LockId);
        await probe.DeleteAsync("deposed", 0);
        await probe.DeleteAsync("deposed", 2);

        await Assert.ThrowsAsync<LockLostException>(() => handle.GetFencingTokenAsync(Clusters.Bound()).AsTask());
        Assert.Null(handle.FencingToken);
        await handle.ReleaseAsync(Clusters.Bound());
    }

    [Fact]
    public async Task The_counter_lives_beside_the_lock_key_in_the_same_hash_slot_and_expires_after_its_retention()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(cluster.Endpoints, o => o.FenceRetention = TimeSpan.FromSeconds(1)), Clusters.Bound());
        await using var store = await ConnectionMultiplexer.ConnectAsync(cluster.Endpoints[0]);
        var handle = await locks.AcquireAsync("slot", new LockRequest { FencingOnAcquire = true }, Clusters.Bound());
        await handle.ReleaseAsync(Clusters.Bound());

        // the release returned at a majority: node 0 may still be running the queued acquisition, so wait for it
        var counter = RedisValue.Null;
        for (var i = 0; i < 200 && counter.IsNull; i++)
        {
            counter = await store.GetDatabase().StringGetAsync("redlock:{slot}:fence");
            if (counter.IsNull)
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }
        }

        Assert.Equal(handle.FencingToken, (long)counter);
        Assert.InRange((await store.GetDatabase().KeyTimeToLiveAsync("redlock:{slot}:fence"))!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));
        Assert.Equal(store.GetHashSlot("redlock:{slot}"), store.GetHashSlot("redlock:{slot}:fence"));
    }

    [Fact]
    public async Task Fenced_writes_refuse_bad_arguments()
    {
        await using var cluster = await TestNodeCluster.StartAsync(1, cancellationToken: Clusters.Bound());
        await using var store = await ConnectionMultiplexer.ConnectAsync(cluster.Endpoints[0]);
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetDatabase().FencedSetAsync("k", "v", 0, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal("fencingToken", ex.ParamName);
        Assert.Null(await store.GetDatabase().FencedGetAsync("k", TestContext.Current.CancellationToken));
    }
}
