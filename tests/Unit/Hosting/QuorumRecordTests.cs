using RedLockNet.Engine;
using RedLockNet.Tests.Unit.Integration;
using RedLockNet.Tests.Unit.Sim;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>
/// Records next to a lock (leader records, tick claims): only the holder writes, a tick is claimed once across
/// holders, the highest claimed tick only rises. The same scenario runs on the simulator and on real servers, so
/// the simulator's record_put / record_get / tick_claim answer as the Lua scripts do.
/// </summary>
public sealed class QuorumRecordTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
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
        var marker = (string)sim.Factory.Records.KeyFor(resource, "tick:job:2000")!;
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
        });
    }

    private static async Task ScenarioAsync(RedLockFactory locks, string resource, Func<Task> dropLockEverywhere)
    {
        var ct = TestContext.Current.CancellationToken;
        var records = locks.Records;
        var request = new LockRequest { Expiry = TimeSpan.FromSeconds(30), AutoRenew = false };
        var a = await locks.AcquireAsync(resource, request, ct);

        var first = await records.ClaimTickAsync(a, "job", 1000, "1|a", Marker, Last, ct);
        Assert.Equal(RecordWriteOutcome.Written, first.Outcome);
        Assert.Equal(3, first.Written);
        Assert.Empty(first.Failures);
        Assert.Equal(RecordWriteOutcome.Written, (await records.ClaimTickAsync(a, "job", 1000, "1|a", Marker, Last, ct)).Outcome); // same value: idempotent
        Assert.Equal(RecordWriteOutcome.Written, (await records.ClaimTickAsync(a, "job", 500, "1|a", Marker, Last, ct)).Outcome); // an older tick
        Assert.Equal((1000L, true), await records.ReadLastTickAsync(resource, "job", ct)); // did not lower the highest
        Assert.Equal((null, true), await records.ReadLastTickAsync(resource, "other-job", ct));

        Assert.Equal(RecordWriteOutcome.Written, (await records.PutAsync(a, "leader", "1|a", Marker, writeOnce: false, ct)).Outcome);
        Assert.Equal(["1|a", "1|a", "1|a"], (await records.ReadAsync(resource, "leader", ct)).Values);
        var once = await records.PutAsync(a, "leader", "other", Marker, writeOnce: true, ct);
        Assert.Equal(RecordWriteOutcome.TakenByOther, once.Outcome);
        Assert.Equal("1|a", once.OtherValue);
        Assert.Equal(RecordWriteOutcome.Written, (await records.PutAsync(a, "leader", "1|a", Marker, writeOnce: true, ct)).Outcome);
        Assert.Equal([null, null, null], (await records.ReadAsync(resource, "absent", ct)).Values);

        // a is deposed behind its back; b takes the lock
        await dropLockEverywhere();
        var b = await locks.AcquireAsync(resource, request, ct);

        var taken = await records.ClaimTickAsync(b, "job", 1000, "2|b", Marker, Last, ct);
        Assert.Equal(RecordWriteOutcome.TakenByOther, taken.Outcome);
        Assert.Equal("1|a", taken.OtherValue);
        Assert.Equal(0, taken.Written);
        Assert.Equal(RecordWriteOutcome.Written, (await records.ClaimTickAsync(b, "job", 2000, "2|b", Marker, Last, ct)).Outcome);
        Assert.Equal((2000L, true), await records.ReadLastTickAsync(resource, "job", ct));

        Assert.Equal(RecordWriteOutcome.NotHolder, (await records.ClaimTickAsync(a, "job", 3000, "1|a", Marker, Last, ct)).Outcome);
        Assert.Equal(RecordWriteOutcome.NotHolder, (await records.PutAsync(a, "leader", "1|a", Marker, writeOnce: false, ct)).Outcome);
        Assert.Equal((2000L, true), await records.ReadLastTickAsync(resource, "job", ct));
        Assert.Equal(RecordWriteOutcome.Written, (await records.PutAsync(b, "leader", "2|b", Marker, writeOnce: false, ct)).Outcome);
        Assert.Equal(["2|b", "2|b", "2|b"], (await records.ReadAsync(resource, "leader", ct)).Values);

        await b.ReleaseAsync(ct);
        Assert.Equal(RecordWriteOutcome.NotHolder, (await records.ClaimTickAsync(b, "job", 4000, "2|b", Marker, Last, ct)).Outcome);
    }
}
