using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Rig;

public sealed class NodeHostLocatorTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("redlocknet-locator-test-").FullName;

    public NodeHostLocatorTests() => File.WriteAllText(Path.Combine(root, "RedLockNet.sln"), string.Empty);

    [Fact]
    public void Prefers_the_configuration_the_tests_were_built_in()
    {
        var debug = BuildNodeHost("Debug");
        var release = BuildNodeHost("Release");

        Assert.Equal(release, NodeHostLocator.Find(TestOutput("Release")));
        Assert.Equal(debug, NodeHostLocator.Find(TestOutput("Debug")));
    }

    [Fact]
    public void Falls_back_to_whichever_configuration_exists()
    {
        var debug = BuildNodeHost("Debug");

        Assert.Equal(debug, NodeHostLocator.Find(TestOutput("Release")));
    }

    [Fact]
    public void Says_to_build_first_when_the_node_host_is_missing()
    {
        var error = Assert.Throws<FileNotFoundException>(() => NodeHostLocator.Find(TestOutput("Debug")));

        Assert.Contains("build the solution first", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string TestOutput(string configuration) =>
        Directory.CreateDirectory(Path.Combine(root, "tests", "Unit", "bin", configuration, "net10.0")).FullName + Path.DirectorySeparatorChar;

    private string BuildNodeHost(string configuration)
    {
        var folder = Directory.CreateDirectory(Path.Combine(root, "tests", "NodeHost", "bin", configuration, "net10.0")).FullName;
        var dll = Path.Combine(folder, "RedLockNet.NodeHost.dll");
        File.WriteAllText(dll, string.Empty);
        return dll;
    }
}
