using System.Collections.Concurrent;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>The distributed semaphore on real nodes: the bound on holders, waiting, fencing per slot and bad input.</summary>
public abstract class SemaphoreTests(ClusterFixture nodes) : FixtureTest(nodes)
{
    [Fact]
    public async Task Twenty_callers_on_three_permits_never_exceed_three_holders_and_each_is_served()
    {
        var resource = Clusters.UniqueResource("pool");
        await using var factories = await ClientFactories.ConnectAsync(Nodes.Endpoints, 5);
        var holders = 0;
        var most = 0;
        var served = new ConcurrentDictionary<int, int>();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var callers = Enumerable.Range(0, 20).Select(async caller =>
        {
            var locks = factories[caller];
            while (DateTime.UtcNow < until)
            {
                await using var permit = await locks.AcquireSemaphoreAsync(resource, 3, new LockRequest { Expiry = TimeSpan.FromSeconds(5), WaitTimeout = TimeSpan.FromSeconds(20) }, Clusters.Bound());
                Assert.InRange(permit.Slot, 0, 2);
                var now = Interlocked.Increment(ref holders);
                ClientFactories.RaiseTo(ref most, now);
                await Task.Delay(60, Clusters.Bound()); // long against a hand-over (release, wake-up, scan, grant), so all 3 permits are in use at once
                permit.EnsureValid();
                Interlocked.Decrement(ref holders);
                served.AddOrUpdate(caller, 1, (_, n) => n + 1);
            }
        });
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60), Clusters.Bound());

        var tally = string.Join(", ", served.OrderBy(p => p.Key).Select(p => $"{p.Key}:{p.Value}"));
        Assert.True(most == 3, $"most holders at once {most}; served {tally}");
        Assert.True(served.Count == 20, $"{served.Count} of 20 callers served: {tally}");
    }

    [Fact]
    public async Task A_permit_has_a_slot_a_token_of_its_own_and_is_free_for_the_next_caller_at_release()
    {
        var resource = Clusters.UniqueResource("one-permit");
        var first = await Locks.AcquireSemaphoreAsync(resource, 1, new LockRequest { FencingOnAcquire = true }, Clusters.Bound());
        Assert.Equal((0, 1), (first.Slot, first.MaxCount));
        Assert.Equal(resource, first.Resource);
        Assert.True(first.FencingToken > 0);
        Assert.True(await first.ExtendAsync(cancellationToken: Clusters.Bound()));
        Assert.Null(await Locks.TryAcquireSemaphoreAsync(resource, 1, cancellationToken: Clusters.Bound()));

        await first.ReleaseAsync(Clusters.Bound());
        Assert.Equal(LockStatus.Released, first.Status);
        await using var second = await Locks.TryAcquireSemaphoreAsync(resource, 1, new LockRequest { FencingOnAcquire = true }, Clusters.Bound());
        Assert.NotNull(second);
        Assert.True(second.FencingToken > first.FencingToken); // the same slot: its holders are ordered
    }

    [Fact]
    public async Task A_waiter_in_another_process_is_handed_the_released_permit_and_woken_rather_than_left_to_its_back_off()
    {
        var resource = Clusters.UniqueResource("handover");
        // the waiter pauses 5 s between attempts and may wait 3 s: only the hand-over and its wake-up can serve it
        await using var patient = await RedLockFactory.ConnectAsync(Clusters.Options(Nodes.Endpoints, o => o.MinRetryDelay = o.MaxRetryDelay = TimeSpan.FromSeconds(5)), Clusters.Bound());
        var held = await Locks.AcquireSemaphoreAsync(resource, 2, cancellationToken: Clusters.Bound());
        await using var other = await Locks.AcquireSemaphoreAsync(resource, 2, cancellationToken: Clusters.Bound());
        var waiting = patient.AcquireSemaphoreAsync(resource, 2, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(3) }, Clusters.Bound());
        await WaitUntilAsync(async () => (await Probe.KeysContainingAsync($"{resource}}}:sem:{held.Slot}:waiting")).Count == Nodes.Endpoints.Count);

        await held.ReleaseAsync(Clusters.Bound());
        await using var handed = await waiting;

        Assert.Equal(held.Slot, handed.Slot);
        await WaitUntilAsync(async () => (await Probe.KeysContainingAsync($"{resource}}}:sem:")).TrueForAll(k => !k.EndsWith(":waiting", StringComparison.Ordinal))); // it left every room
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Every_client_must_ask_for_the_same_count_and_a_lock_is_not_a_semaphore()
    {
        var resource = Clusters.UniqueResource("counted");
        await using (await Locks.AcquireSemaphoreAsync(resource, 3, cancellationToken: Clusters.Bound()))
        {
            var other = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Locks.TryAcquireSemaphoreAsync(resource, 4, cancellationToken: Clusters.Bound()));
            Assert.Equal("maxCount", other.ParamName);
            Assert.Contains("has 3 permits", other.Message, StringComparison.Ordinal);
        }

        var locked = Clusters.UniqueResource("locked");
        await using (await Locks.AcquireAsync(locked, Clusters.Bound()))
        {
            var refused = await Assert.ThrowsAsync<ArgumentException>(() => Locks.TryAcquireSemaphoreAsync(locked, 2, cancellationToken: Clusters.Bound()));
            Assert.Equal("resource", refused.ParamName);
        }

        // and a semaphore is not a lock: a lock that waits, or that mints its token as it acquires, is told why and
        // leaves nothing (no ticket in a waiting room); a plain try finds the name taken; so does another client
        var counted = Clusters.UniqueResource("counted");
        await using var elsewhere = await RedLockFactory.ConnectAsync(Clusters.Options(Nodes.Endpoints), Clusters.Bound());
        await using (await Locks.AcquireSemaphoreAsync(counted, 2, cancellationToken: Clusters.Bound()))
        {
            var waiting = await Assert.ThrowsAsync<ArgumentException>(() => elsewhere.AcquireAsync(counted, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(5) }, Clusters.Bound()));
            Assert.Equal("resource", waiting.ParamName);
            Assert.Contains("in use as a semaphore", waiting.Message, StringComparison.Ordinal);
            Assert.Equal("resource", (await Assert.ThrowsAsync<ArgumentException>(() => elsewhere.TryAcquireAsync(counted, new LockRequest { FencingOnAcquire = true }, Clusters.Bound()))).ParamName);
            Assert.Equal("resources", (await Assert.ThrowsAsync<ArgumentException>(() => elsewhere.AcquireAllAsync([counted, counted + ":other"], cancellationToken: Clusters.Bound()))).ParamName);
            Assert.Null(await elsewhere.TryAcquireAsync(counted, cancellationToken: Clusters.Bound()));
            Assert.All(await Probe.WaitingAsync(counted), n => Assert.Equal(0, n));
            Assert.All(await Probe.ValuesAsync(counted), v => Assert.Equal("#semaphore", v));
        }
    }

    [Fact]
    public async Task Bad_input_names_the_parameter_and_writes_nothing()
    {
        var resource = $"bad-semaphore-{Guid.NewGuid():N}";
        foreach (var count in new[] { 0, -1, RedLockFactory.MaxSemaphoreCount + 1 })
        {
            Assert.Equal("maxCount", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Locks.AcquireSemaphoreAsync(resource, count, cancellationToken: Clusters.Bound()))).ParamName);
        }

        Assert.Equal("resource", (await Assert.ThrowsAsync<ArgumentException>(() => Locks.TryAcquireSemaphoreAsync(" ", 2, cancellationToken: Clusters.Bound()))).ParamName);
        Assert.Equal("request.Expiry", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Locks.TryAcquireSemaphoreAsync(resource, 2, new LockRequest { Expiry = TimeSpan.FromMilliseconds(1) }, Clusters.Bound()))).ParamName);
        Assert.Empty(await Probe.KeysContainingAsync(resource));
    }
}

public sealed class SemaphoreOnFiveNodes(FiveNodes nodes) : SemaphoreTests(nodes), IClassFixture<FiveNodes>;
