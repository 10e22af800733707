using RedLockNet.Tests.Unit.Integration;
using RedLockNet.Tests.Unit.Sim;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>
/// The semaphore's and the reader-writer lock's scripts: the same scenario runs on the simulator and on real servers,
/// so the simulator's semaphore_scan / rw_read / rw_write (which the schedule properties rely on) answer as the Lua
/// scripts do.
/// </summary>
public sealed class PrimitiveScriptTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    [Fact]
    public async Task On_the_simulator()
    {
        await using var sim = new SimulatedCluster(3);
        await ScenarioAsync(sim.Factory, "prim");
    }

    [Fact]
    public async Task On_real_servers() => await ScenarioAsync(Locks, Clusters.UniqueResource("prim"));

    private static async Task ScenarioAsync(RedLockFactory locks, string resource)
    {
        var now = new LockRequest { Expiry = TimeSpan.FromSeconds(30), AutoRenew = false, WaitTimeout = TimeSpan.Zero };

        // semaphore: two permits on two slots, a third refused; another count refused naming maxCount; a released
        // slot is the one the next holder gets
        var semaphore = resource + ":sem";
        var first = await locks.TryAcquireSemaphoreAsync(semaphore, 2, now);
        var second = await locks.TryAcquireSemaphoreAsync(semaphore, 2, now);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.NotEqual(first.Slot, second.Slot);
        Assert.Null(await locks.TryAcquireSemaphoreAsync(semaphore, 2, now));
        Assert.Equal("maxCount", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => locks.TryAcquireSemaphoreAsync(semaphore, 3, now))).ParamName);
        await first.ReleaseAsync();
        var third = await locks.TryAcquireSemaphoreAsync(semaphore, 2, now);
        Assert.Equal(first.Slot, third?.Slot);

        // a resource held as a plain lock is not a semaphore
        await using (await locks.AcquireAsync(resource + ":plain", now))
        {
            Assert.Equal("resource", (await Assert.ThrowsAsync<ArgumentException>(() => locks.TryAcquireSemaphoreAsync(resource + ":plain", 2, now))).ParamName);
        }

        // reader-writer: readers share; a writer is refused and announced, so a new reader is refused; once the readers
        // leave the writer gets in and keeps everyone out; after it, readers again
        var rw = resource + ":rw";
        var reader1 = await locks.TryAcquireReadAsync(rw, now);
        var reader2 = await locks.TryAcquireReadAsync(rw, now);
        Assert.NotNull(reader1);
        Assert.NotNull(reader2);
        Assert.Null(await locks.TryAcquireWriteAsync(rw, now));
        Assert.Null(await locks.TryAcquireReadAsync(rw, now)); // the waiting writer is preferred
        await reader1.ReleaseAsync();
        await reader2.ReleaseAsync();
        var writer = await locks.TryAcquireWriteAsync(rw, now);
        Assert.NotNull(writer);
        Assert.Null(await locks.TryAcquireReadAsync(rw, now));
        Assert.Null(await locks.TryAcquireWriteAsync(rw, now));
        await writer.ReleaseAsync();
        var reader3 = await locks.TryAcquireReadAsync(rw, now);
        Assert.NotNull(reader3);

        foreach (var held in new ILockHandle?[] { second, third, reader3 })
        {
            await held!.ReleaseAsync();
        }
    }
}
