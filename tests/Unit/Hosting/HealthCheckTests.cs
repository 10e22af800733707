using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RedLockNet.Hosting.DependencyInjection;
using RedLockNet.Hosting.HealthChecks;
using RedLockNet.Tests.Unit.Integration;
using RedLockNet.TestRig;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary><c>AddHealthChecks().AddRedLock()</c> on real server processes, and its verdict rules on made-up probes.</summary>
public sealed class HealthCheckTests(ITestOutputHelper output)
{
    private const string Password = "s3cret-Pa55word";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    [Fact]
    public async Task Healthy_with_every_node_up_degraded_with_one_down_unhealthy_without_a_majority()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        var withPassword = await TryRequirePasswordAsync(cluster);
        var services = new ServiceCollection().AddLogging();
        void Configure(RedLockOptions o)
        {
            o.NodeTimeout = TimeSpan.FromMilliseconds(500);
            foreach (var endpoint in cluster.Endpoints)
            {
                o.Nodes.Add(withPassword ? $"{endpoint},password={Password}" : endpoint);
            }
        }

        services.AddRedLock(Configure);
        services.AddRedLock("payments", Configure); // a named instance: its check resolves the keyed connection
        // a loaded CI machine may take a while to connect and answer: nothing here is about speed
        services.AddHealthChecks()
            .AddRedLock(tags: ["ready"], timeout: TimeSpan.FromSeconds(5), slowThreshold: TimeSpan.FromSeconds(5))
            .AddRedLock(name: "payments", failureStatus: HealthStatus.Degraded, timeout: TimeSpan.FromSeconds(5), slowThreshold: TimeSpan.FromSeconds(5));
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();

        var up = Show("3 nodes up", await EventuallyAsync(health, HealthStatus.Healthy));
        Assert.Equal(HealthStatus.Healthy, up.Status);
        Assert.Equal(HealthStatus.Healthy, (await EventuallyAsync(health, HealthStatus.Healthy, "redlock:payments")).Status);
        Assert.Equal(["ready"], up.Tags);
        foreach (var endpoint in cluster.Endpoints)
        {
            var node = Assert.IsType<Dictionary<string, object>>(up.Data[endpoint], exactMatch: false);
            Assert.Equal("up", node["state"]);
            Assert.IsType<double>(node["latency_ms"]);
        }

        Assert.Equal(["nodes", "majority", .. cluster.Endpoints, "voting"], up.Data.Keys);
        Assert.Equal(3, up.Data["voting"]);

        await cluster.Nodes[0].KillAsync();
        var one = Show("2 nodes up", await EventuallyAsync(health, HealthStatus.Degraded));
        Assert.NotEqual("up", State(one, cluster.Endpoints[0]));
        Assert.Equal("up", State(one, cluster.Endpoints[1]));
        Assert.Contains(cluster.Endpoints[0], one.Description, StringComparison.Ordinal);

        await cluster.Nodes[1].KillAsync();
        var two = Show("1 node up", await EventuallyAsync(health, HealthStatus.Unhealthy));
        Assert.StartsWith("1 of 3 nodes can vote; a lock needs 2", two.Description, StringComparison.Ordinal);
        Assert.Equal(1, two.Data["voting"]);
        // the registration's failure status applies without a majority
        var payments = (await health.CheckHealthAsync(r => r.Name == "redlock:payments", Clusters.Bound())).Entries["redlock:payments"];
        Assert.Equal(HealthStatus.Degraded, payments.Status);

        foreach (var entry in new[] { up, one, two, payments })
        {
            var text = JsonSerializer.Serialize(new { entry.Description, entry.Data, Exception = entry.Exception?.ToString() });
            Assert.DoesNotContain(Password, text, StringComparison.Ordinal);
            Assert.DoesNotContain("password", text, StringComparison.OrdinalIgnoreCase);
        }

        output.WriteLine(withPassword ? "(nodes required a password; none appears above)" : "(this backend refused CONFIG SET requirepass: nodes ran without a password)");
    }

    [Fact]
    public async Task A_restarted_node_is_reported_quarantined_with_its_time_left()
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, cancellationToken: Clusters.Bound());
        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options(cluster.Endpoints, o => o.RestartQuarantinePeriod = TimeSpan.FromSeconds(60)), Clusters.Bound());
        IReadOnlyList<NodeStatus> before = [];
        for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20); DateTime.UtcNow < deadline; await Task.Delay(100, TestContext.Current.CancellationToken))
        {
            before = await locks.ProbeNodesAsync(TimeSpan.FromSeconds(5), Clusters.Bound());
            if (before.All(s => s.CanVote))
            {
                break; // a loaded machine may leave a node slow to answer at first
            }
        }

        Assert.Equal(cluster.Endpoints, before.Select(s => s.Endpoint));
        Assert.All(before, s => Assert.True(s.CanVote && s.IsReachable && s.Latency > TimeSpan.Zero && !s.IsQuarantined, s.ToString()));

        await cluster.Nodes[2].RestartAsync(Clusters.Bound());
        NodeStatus? restarted = null;
        for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20); DateTime.UtcNow < deadline; await Task.Delay(100, TestContext.Current.CancellationToken))
        {
            restarted = (await locks.ProbeNodesAsync(TimeSpan.FromSeconds(5), Clusters.Bound()))[2];
            if (restarted.IsQuarantined)
            {
                break;
            }
        }

        Assert.NotNull(restarted);
        Assert.True(restarted.IsQuarantined, restarted.ToString());
        Assert.True(restarted.IsReachable);
        Assert.False(restarted.CanVote);
        Assert.Equal(NodeFailureKind.Quarantined, restarted.Failure);
        Assert.InRange(restarted.QuarantineRemaining, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

        var result = RedLockHealthCheck.Evaluate(await locks.ProbeNodesAsync(TimeSpan.FromSeconds(5), Clusters.Bound()), locks.Majority, TimeSpan.FromSeconds(5), HealthStatus.Unhealthy);
        Show("1 node quarantined", result);
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Equal("quarantined", State(result, cluster.Endpoints[2]));
        Assert.IsType<double>(((IReadOnlyDictionary<string, object>)result.Data[cluster.Endpoints[2]])["quarantine_remaining_ms"]);

        await locks.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => locks.ProbeNodesAsync(cancellationToken: Clusters.Bound()));
    }

    [Fact]
    public void A_slow_node_degrades_and_a_node_with_an_error_does_not_vote()
    {
        NodeStatus[] nodes =
        [
            new("10.0.0.1:6379", true, TimeSpan.FromMilliseconds(2), TimeSpan.Zero, null, null),
            new("10.0.0.2:6379", true, TimeSpan.FromMilliseconds(150), TimeSpan.Zero, null, null),
            new("10.0.0.3:6379", true, null, TimeSpan.Zero, NodeFailureKind.Error, "NOAUTH Authentication required."),
        ];

        var slow = RedLockHealthCheck.Evaluate(nodes[..2], 2, TimeSpan.FromMilliseconds(100), HealthStatus.Unhealthy);
        Assert.Equal(HealthStatus.Degraded, slow.Status);
        Assert.Equal("slow", State(slow, "10.0.0.2:6379"));
        Assert.Contains("10.0.0.2:6379 slow (150 ms)", slow.Description, StringComparison.Ordinal);

        var error = RedLockHealthCheck.Evaluate(nodes, 2, TimeSpan.FromMilliseconds(200), HealthStatus.Unhealthy);
        Assert.Equal(HealthStatus.Degraded, error.Status);
        Assert.Equal("error", State(error, "10.0.0.3:6379"));
        Assert.Equal(2, error.Data["voting"]);

        var none = RedLockHealthCheck.Evaluate(nodes[2..], 1, TimeSpan.FromMilliseconds(200), HealthStatus.Degraded);
        Assert.Equal(HealthStatus.Degraded, none.Status); // the failure status the registration chose
        Assert.StartsWith("0 of 1 nodes can vote", none.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void AddRedLock_checks_its_arguments_and_names_the_registration_after_the_instance()
    {
        var builder = new ServiceCollection().AddHealthChecks();
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddRedLock(timeout: TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddRedLock(slowThreshold: TimeSpan.FromMilliseconds(-1)));
        Assert.Throws<ArgumentException>(() => builder.AddRedLock(name: " "));
        var services = new ServiceCollection();
        services.AddHealthChecks().AddRedLock().AddRedLock("payments", tags: ["ready"]);
        using var provider = services.BuildServiceProvider();
        var registrations = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthCheckServiceOptions>>().Value.Registrations;
        Assert.Equal(["redlock", "redlock:payments"], registrations.Select(r => r.Name));
        Assert.Equal(HealthStatus.Unhealthy, registrations.First().FailureStatus);
    }

    private HealthReportEntry Show(string title, HealthReportEntry entry)
    {
        output.WriteLine($"== {title}: {entry.Status}: {entry.Description}");
        output.WriteLine(JsonSerializer.Serialize(entry.Data, Indented));
        return entry;
    }

    private HealthCheckResult Show(string title, HealthCheckResult result)
    {
        Show(title, new HealthReportEntry(result.Status, result.Description, TimeSpan.Zero, result.Exception, result.Data));
        return result;
    }

    private static string? State(HealthReportEntry entry, string endpoint) => ((IReadOnlyDictionary<string, object>)entry.Data[endpoint])["state"] as string;

    private static string? State(HealthCheckResult result, string endpoint) => ((IReadOnlyDictionary<string, object>)result.Data[endpoint])["state"] as string;

    /// <summary>
    /// Checks until the check <paramref name="name"/> reports <paramref name="status"/> (the connection may still be
    /// coming up, and a killed node may take a moment to be noticed).
    /// </summary>
    private static async Task<HealthReportEntry> EventuallyAsync(HealthCheckService health, HealthStatus status, string name = "redlock")
    {
        HealthReportEntry entry = default;
        for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20); DateTime.UtcNow < deadline; await Task.Delay(100, TestContext.Current.CancellationToken))
        {
            entry = (await health.CheckHealthAsync(r => r.Name == name, Clusters.Bound())).Entries[name];
            if (entry.Status == status)
            {
                break;
            }
        }

        return entry;
    }

    /// <summary>Makes every node require a password where the server allows it at run time (redis-server; not Garnet).</summary>
    private static async Task<bool> TryRequirePasswordAsync(TestNodeCluster cluster)
    {
        foreach (var endpoint in cluster.Endpoints)
        {
            await using var admin = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endpoint }, AllowAdmin = true, ConnectTimeout = 2000 });
            try
            {
                await admin.GetServer(endpoint).ConfigSetAsync("requirepass", Password);
            }
            catch (RedisServerException) when (cluster.Backend != NodeBackend.RedisServer)
            {
                return false;
            }
        }

        return true;
    }
}
