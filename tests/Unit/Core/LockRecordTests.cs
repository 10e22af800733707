using RedLockNet.Tests.Unit.Integration;
using RedLockNet.Tests.Unit.Sim;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>
/// Records next to a lock (leader records, tick claims): only the holder writes, a tick is claimed once across
/// holders, the highest claimed tick only rises. The same scenario runs on the simulator and on real servers, so
/// the simulator's record_put / record_get / tick_claim answer as the Lua scripts do.
/// </summary>
public sealed class LockRecordTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    private static readonly TimeSpan Marker = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Last = TimeSpan.FromDays(1);

    [Fact]
    public async Task On_the_simulator()
    {
        await using var sim = new SimulatedCluster(3);
        var resource = "records";
        await ScenarioAsync(sim.Factory, resource, () =>
        {
            foreach (var node in sim.Nodes)
            {
                node.Delete(SimulatedCluster.KeyOf(resource));
            }

            return Task.CompletedTask;
        });

        // the retention is the one asked for, on the fake clock
        var marker = SimulatedCluster.KeyOf(resource) + ":rec:tick:job:2000";
        Assert.All(sim.Nodes, n => Assert.NotNull(n.Value(marker)));
        sim.Time.Advance(Marker);
        Assert.All(sim.Nodes, n => Assert.Null(n.Value(marker)));
    }

    [Fact]
    public async Task On_real_servers()
    {
        var resource = Clusters.UniqueResource("records");
        await ScenarioAsync(Locks, resource, async () =>
        {
            for (var i = 0; i < Nodes.Endpoints.Count; i++)
            {
                await Probe.DeleteAsync(resource, i);
            }
        },
        // acquire returns once a majority granted: let the third grant land, so every node can take the record
        holder => Probe.EventuallyAsync(resource, v => v == holder.LockId));
    }

    private static async Task ScenarioAsync(RedLockFactory locks, string resource, Func<Task> dropLockEverywhere, Func<ILockHandle, Task>? landed = null)
    {
        var ct = TestContext.Current.CancellationToken;
        var records = locks.Records;
        var request = new LockRequest { Expiry = TimeSpan.FromSeconds(30), AutoRenew = false };
        var a = await locks.AcquireAsync(resource, request, ct);
        await (landed?.Invoke(a) ?? Task.CompletedTask);

        Task<LockRecordWrite> Claim(ILockHandle holder, long tick, string value) =>
            records.ClaimAsync(holder, new LockRecordClaim($"tick:job:{tick}", value, tick, "last:job") { Retention = Marker, HighWaterRetention = Last }, ct);
        Task<LockRecordWrite> Put(ILockHandle holder, string value, bool writeOnce) =>
            records.WriteAsync(holder, "leader", value, new LockRecordWriteOptions { Retention = Marker, WriteOnce = writeOnce }, ct);
        async Task<(long? Last, bool FromMajority)> LastTick(string job)
        {
            var read = await records.ReadAsync(resource, "last:" + job, Last, ct);
            return (read.Values.Where(v => v is not null).Select(v => (long?)long.Parse(v!, System.Globalization.CultureInfo.InvariantCulture)).Max(), read.FromMajority);
        }

        var first = await Claim(a, 1000, "1|a");
        Assert.Equal(LockRecordWriteOutcome.Written, first.Outcome);
        Assert.Equal(3, first.Confirmed);
        Assert.Empty(first.Failures);
        Assert.Equal(LockRecordWriteOutcome.Written, (await Claim(a, 1000, "1|a")).Outcome); // same value: idempotent
        Assert.Equal(LockRecordWriteOutcome.Written, (await Claim(a, 500, "1|a")).Outcome); // an older tick
        Assert.Equal((1000L, true), await LastTick("job")); // did not lower the highest
        Assert.Equal((null, true), await LastTick("other-job"));

        Assert.Equal(LockRecordWriteOutcome.Written, (await Put(a, "1|a", false)).Outcome);
        Assert.Equal(["1|a", "1|a", "1|a"], (await records.ReadAsync(resource, "leader", Marker, ct)).Values);
        var once = await Put(a, "other", true);
        Assert.Equal(LockRecordWriteOutcome.TakenByOther, once.Outcome);
        Assert.Equal("1|a", once.OtherValue);
        Assert.Equal(LockRecordWriteOutcome.Written, (await Put(a, "1|a", true)).Outcome);
        Assert.Equal([null, null, null], (await records.ReadAsync(resource, "absent", Marker, ct)).Values);

        // a is deposed behind its back; b takes the lock
        await dropLockEverywhere();
        var b = await locks.AcquireAsync(resource, request, ct);

        var taken = await Claim(b, 1000, "2|b");
        Assert.Equal(LockRecordWriteOutcome.TakenByOther, taken.Outcome);
        Assert.Equal("1|a", taken.OtherValue);
        Assert.Equal(0, taken.Confirmed);
        Assert.Equal(LockRecordWriteOutcome.Written, (await Claim(b, 2000, "2|b")).Outcome);
        Assert.Equal((2000L, true), await LastTick("job"));

        Assert.Equal(LockRecordWriteOutcome.NotHolder, (await Claim(a, 3000, "1|a")).Outcome);
        Assert.Equal(LockRecordWriteOutcome.NotHolder, (await Put(a, "1|a", false)).Outcome);
        Assert.Equal((2000L, true), await LastTick("job"));
        Assert.Equal(LockRecordWriteOutcome.Written, (await Put(b, "2|b", false)).Outcome);
        Assert.Equal(["2|b", "2|b", "2|b"], (await records.ReadAsync(resource, "leader", Marker, ct)).Values);

        await b.ReleaseAsync(ct);
        Assert.Equal(LockRecordWriteOutcome.NotHolder, (await Claim(b, 4000, "2|b")).Outcome);
    }
}
