using RedLockNet.Tests.Unit.Integration;
using RedLockNet.Tests.Unit.Sim;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>
/// The semaphore's, the reader-writer lock's and the multi-lock's scripts: the same scenario runs on the simulator and
/// on real servers, so the simulator's semaphore_scan / rw_read / rw_write / acquire_all (which the schedule properties
/// rely on) answer as the Lua scripts do.
/// </summary>
public sealed class PrimitiveScriptTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    [Fact]
    public async Task On_the_simulator()
    {
        await using var sim = new SimulatedCluster(3);
        await ScenarioAsync(sim.Factory, "prim", TimeSpan.Zero);
    }

    /// <summary>Grants that must succeed may wait 5 s, and refusals are asked again after a quorum failure: a loaded machine's blip is not an answer.</summary>
    [Fact]
    public async Task On_real_servers() => await ScenarioAsync(Locks, Clusters.UniqueResource("prim"), TimeSpan.FromSeconds(5));

    private static async Task ScenarioAsync(RedLockFactory locks, string resource, TimeSpan patience)
    {
        var now = new LockRequest { Expiry = TimeSpan.FromSeconds(30), AutoRenew = false, WaitTimeout = TimeSpan.Zero };
        var granted = now with { WaitTimeout = patience };

        // semaphore: two permits on two slots, a third refused; another count refused naming maxCount; a released
        // slot is the one the next holder gets
        var semaphore = resource + ":sem";
        var first = await locks.TryAcquireSemaphoreAsync(semaphore, 2, granted);
        var second = await locks.TryAcquireSemaphoreAsync(semaphore, 2, granted);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.NotEqual(first.Slot, second.Slot);
        Assert.Null(await RefusedAsync(() => locks.TryAcquireSemaphoreAsync(semaphore, 2, now)));
        Assert.Equal("maxCount", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => RefusedAsync(() => locks.TryAcquireSemaphoreAsync(semaphore, 3, now)))).ParamName);
        await first.ReleaseAsync();
        var third = await locks.TryAcquireSemaphoreAsync(semaphore, 2, granted);
        Assert.Equal(first.Slot, third?.Slot);

        // and a semaphore is not a plain lock: a grant script (here the fenced one) refuses it naming the resource, a
        // plain SET NX finds it taken
        Assert.Equal("resource", (await Assert.ThrowsAsync<ArgumentException>(() => RefusedAsync(() => locks.TryAcquireAsync(semaphore, now with { FencingOnAcquire = true })))).ParamName);
        Assert.Null(await RefusedAsync(() => locks.TryAcquireAsync(semaphore, now)));

        // a resource held as a plain lock is not a semaphore
        await using (await locks.AcquireAsync(resource + ":plain", granted))
        {
            Assert.Equal("resource", (await Assert.ThrowsAsync<ArgumentException>(() => RefusedAsync(() => locks.TryAcquireSemaphoreAsync(resource + ":plain", 2, now)))).ParamName);
        }

        // reader-writer: readers share; a writer is refused and announced, so a new reader is refused; once the readers
        // leave the writer gets in and keeps everyone out; after it, readers again
        var rw = resource + ":rw";
        var reader1 = await locks.TryAcquireReadAsync(rw, granted);
        var reader2 = await locks.TryAcquireReadAsync(rw, granted);
        Assert.NotNull(reader1);
        Assert.NotNull(reader2);
        Assert.Null(await RefusedAsync(() => locks.TryAcquireWriteAsync(rw, now)));
        Assert.Null(await RefusedAsync(() => locks.TryAcquireReadAsync(rw, now))); // the waiting writer is preferred
        await reader1.ReleaseAsync();
        await reader2.ReleaseAsync();
        var writer = await locks.TryAcquireWriteAsync(rw, granted);
        Assert.NotNull(writer);
        Assert.Null(await RefusedAsync(() => locks.TryAcquireReadAsync(rw, now)));
        Assert.Null(await RefusedAsync(() => locks.TryAcquireWriteAsync(rw, now)));
        await writer.ReleaseAsync();
        var reader3 = await locks.TryAcquireReadAsync(rw, granted);
        Assert.NotNull(reader3);

        // multi-lock in one hash slot (acquire_all): refused as a whole while one of its keys stands, leaving the other
        // free; granted together, with a token per resource, once it is gone
        string[] pair = [$"{{{resource}}}:a", $"{{{resource}}}:b"];
        var fenced = granted with { FencingOnAcquire = true };
        var blocker = await locks.TryAcquireAsync(pair[1], granted);
        Assert.NotNull(blocker);
        Assert.Null(await RefusedAsync(() => locks.TryAcquireAllAsync(pair, now)));
        await using (var free = await locks.TryAcquireAsync(pair[0], granted))
        {
            Assert.NotNull(free);
        }

        await blocker.ReleaseAsync();
        await using (var both = await locks.TryAcquireAllAsync(pair, fenced))
        {
            Assert.NotNull(both);
            Assert.All(both.Locks, l => Assert.True(l.FencingToken > 0));
            Assert.Null(await RefusedAsync(() => locks.TryAcquireAsync(pair[0], now)));
        }

        foreach (var held in new ILockHandle?[] { second, third, reader3 })
        {
            await held!.ReleaseAsync();
        }
    }

    /// <summary>A try that should be refused: asked again (up to 5 times) while too few nodes answer in time.</summary>
    private static async Task<T?> RefusedAsync<T>(Func<Task<T?>> attempt)
        where T : class
    {
        for (var tries = 1; ; tries++)
        {
            try
            {
                return await attempt();
            }
            catch (QuorumUnavailableException) when (tries < 5)
            {
                await Task.Delay(200, TestContext.Current.CancellationToken);
            }
        }
    }
}
