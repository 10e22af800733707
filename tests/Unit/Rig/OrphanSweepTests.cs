using System.Diagnostics;
using System.Globalization;
using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Rig;

/// <summary>The pidfile sweep that kills the nodes of a test process that died without disposing its cluster.</summary>
public sealed class OrphanSweepTests(ITestOutputHelper output)
{
    private const int DeadOwner = 999_999_999; // above any Linux pid_max, so never a live process

    [Fact]
    public async Task Sweep_kills_only_nodes_whose_owner_is_gone_and_that_still_look_like_nodes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the sweep relies on /proc");
        Assert.SkipWhen(NodeBackendSelector.FromEnvironment() == NodeBackend.Testcontainers, "containers have no local pid");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var folder = Directory.CreateTempSubdirectory("redlocknet-sweep-test-").FullName;
        await using var cluster = await TestNodeCluster.StartAsync(1, backend: null, output.WriteLine, timeout.Token);
        var node = cluster.Nodes[0];
        var nodePid = node.ProcessId!.Value;
        using var bystander = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            var liveOwnerFile = WritePidFile(folder, Environment.ProcessId, nodePid, node.Port);
            var wrongPortFile = WritePidFile(folder, DeadOwner, nodePid, port: 1);
            var bystanderFile = WritePidFile(folder, DeadOwner, bystander.Id, node.Port, dataDirectory: folder);

            Assert.Equal(0, NodeProcessRegistry.SweepOrphans(folder, output.WriteLine));

            Assert.True(node.IsRunning);
            Assert.False(bystander.HasExited);
            Assert.True(File.Exists(liveOwnerFile), "a live owner's pidfile must stay");
            Assert.False(File.Exists(wrongPortFile), "stale pidfiles are deleted even when nothing is killed");
            Assert.False(File.Exists(bystanderFile), "stale pidfiles are deleted even when nothing is killed");
            Assert.True(Directory.Exists(folder), "only <temp>/redlocknet-node-* folders may be deleted");

            File.Delete(liveOwnerFile);
            var orphanData = Directory.CreateTempSubdirectory("redlocknet-node-").FullName;
            File.WriteAllText(Path.Combine(orphanData, "dump.rdb"), "x");
            var orphanFile = WritePidFile(folder, DeadOwner, nodePid, node.Port, orphanData);

            Assert.Equal(1, NodeProcessRegistry.SweepOrphans(folder, output.WriteLine));

            Assert.False(File.Exists(orphanFile));
            Assert.False(Directory.Exists(orphanData), "the orphan's data folder should be deleted");
            var clock = Stopwatch.StartNew();
            while (node.IsRunning && clock.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(20, timeout.Token);
            }

            Assert.False(node.IsRunning, "the orphaned node should have been killed");
        }
        finally
        {
            bystander.Kill();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string WritePidFile(string folder, int owner, int node, int port, string dataDirectory = "")
    {
        var file = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{owner}-{node}"));
        File.WriteAllLines(file, [port.ToString(CultureInfo.InvariantCulture), dataDirectory]);
        return file;
    }
}
