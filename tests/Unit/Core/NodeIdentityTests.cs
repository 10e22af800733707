using RedLockNet.Nodes;

namespace RedLockNet.Tests.Unit.Core;

public class NodeIdentityTests
{
    [Fact]
    public void Reads_run_id_uptime_and_garnet_version_from_info_server()
    {
        var identity = NodeIdentity.Parse("# Server\r\ngarnet_version:2.2.8\r\nuptime_in_seconds:42\r\nrun_id:abc123\r\n");
        Assert.Equal(new NodeIdentity("abc123", TimeSpan.FromSeconds(42), "2.2.8"), identity);
    }

    [Fact]
    public void Redis_has_no_garnet_version_and_text_without_run_id_gives_null()
    {
        Assert.Null(NodeIdentity.Parse("# Server\r\nredis_version:7.0.15\r\nrun_id:x\r\n")!.GarnetVersion);
        Assert.Null(NodeIdentity.Parse("# Server\r\nredis_version:7.0.15\r\n"));
    }
}
