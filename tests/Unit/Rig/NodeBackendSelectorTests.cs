using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Rig;

public sealed class NodeBackendSelectorTests
{
    [Theory]
    [InlineData("redis", NodeBackend.RedisServer)]
    [InlineData("REDIS", NodeBackend.RedisServer)]
    [InlineData("Garnet", NodeBackend.Garnet)]
    [InlineData(" garnet ", NodeBackend.Garnet)]
    [InlineData("TestContainers", NodeBackend.Testcontainers)]
    public void Parses_known_names_case_insensitively(string value, NodeBackend expected) =>
        Assert.Equal(expected, NodeBackendSelector.Parse(value));

    [Fact]
    public void Rejects_unknown_names_listing_the_allowed_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => NodeBackendSelector.Parse("mongo"));

        Assert.Contains("REDLOCK_TEST_BACKEND", error.Message, StringComparison.Ordinal);
        Assert.Contains("redis, garnet, testcontainers", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Defaults_to_redis_server_when_installed_else_garnet(string? value)
    {
        var redisInstalled = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, "redis-server")));

        Assert.Equal(redisInstalled ? NodeBackend.RedisServer : NodeBackend.Garnet, NodeBackendSelector.Parse(value));
    }

    [Fact]
    public async Task Testcontainers_without_a_docker_engine_fails_with_a_clear_message()
    {
        var dockerConfigured = File.Exists("/var/run/docker.sock") || Environment.GetEnvironmentVariable("DOCKER_HOST") is not null;
        Assert.SkipWhen(dockerConfigured, "a Docker engine seems to be configured");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));

        var error = await Assert.ThrowsAsync<TestNodeStartException>(() => TestNodeCluster.StartAsync(1, NodeBackend.Testcontainers, _ => { }, timeout.Token));

        Assert.Contains("needs a Docker engine", error.Message, StringComparison.Ordinal);
    }
}
