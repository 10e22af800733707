using RedLockNet.TestRig;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Integration;

public sealed class ValidationNodes() : ClusterFixture(3);

/// <summary>Bad input is refused at the call with the parameter and the rule named, and nothing reaches Redis.</summary>
public sealed class ValidationTests(ValidationNodes nodes) : FixtureTest(nodes), IClassFixture<ValidationNodes>
{
    public static TheoryData<string?, string> BadResources => new()
    {
        { null, "resource" },
        { "", "resource" },
        { "   ", "resource" },
        { new string('x', 1025), "resource" },
    };

    [Theory]
    [MemberData(nameof(BadResources))]
    public async Task Bad_resource_names_are_refused_and_nothing_is_written(string? resource, string param)
    {
        var acquire = await Assert.ThrowsAnyAsync<ArgumentException>(() => Locks.AcquireAsync(resource!, Clusters.Bound()));
        var tryAcquire = await Assert.ThrowsAnyAsync<ArgumentException>(() => Locks.TryAcquireAsync(resource!, Clusters.Bound()));
        Assert.Equal(param, acquire.ParamName);
        Assert.Equal(param, tryAcquire.ParamName);
        await Probe.AssertNoLocksAsync();
    }

    [Fact]
    public async Task A_resource_of_exactly_1024_characters_is_fine()
    {
        await using var handle = await Locks.AcquireAsync(new string('y', 1024), Clusters.Bound());
        Assert.Equal(1024, handle.Resource.Length);
    }

    [Theory]
    [InlineData(9, "at least 10 ms")]
    [InlineData(0, "at least 10 ms")]
    [InlineData(-5, "at least 10 ms")]
    public async Task Expiries_below_10_ms_are_refused(int milliseconds, string rule)
    {
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Locks.AcquireAsync("expiry", new LockRequest { Expiry = TimeSpan.FromMilliseconds(milliseconds) }, Clusters.Bound()));
        Assert.Equal("request.Expiry", ex.ParamName);
        Assert.Contains(rule, ex.Message);
        await Probe.AssertNoLocksAsync();
    }

    [Fact]
    public async Task An_expiry_not_above_drift_plus_minimum_validity_is_refused()
    {
        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options(Nodes.Endpoints, o => o.MinValidity = TimeSpan.FromSeconds(1)), Clusters.Bound());
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            locks.AcquireAsync("drift", new LockRequest { Expiry = TimeSpan.FromMilliseconds(900) }, Clusters.Bound()));
        Assert.Equal("request.Expiry", ex.ParamName);
        Assert.Contains("drift allowance", ex.Message);
        await Probe.AssertNoLocksAsync();
    }

    [Fact]
    public async Task A_safety_margin_above_the_minimum_validity_is_refused_for_that_expiry()
    {
        await using var locks = await RedLockFactory.ConnectAsync(
            Clusters.Options(Nodes.Endpoints, o => o.LostTokenSafetyMargin = TimeSpan.FromSeconds(2)), Clusters.Bound()); // fine for 30 s (minimum 3 s)
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            locks.AcquireAsync("margin", new LockRequest { Expiry = TimeSpan.FromSeconds(10) }, Clusters.Bound())); // minimum 1 s
        Assert.Equal("request.Expiry", ex.ParamName);
        Assert.Contains("safety margin", ex.Message);
        await Probe.AssertNoLocksAsync();
    }

    [Fact]
    public async Task A_hold_time_cap_below_10_ms_is_refused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Locks.AcquireAsync("cap", new LockRequest { MaxHoldTime = TimeSpan.FromMilliseconds(5) }, Clusters.Bound()));
        Assert.Equal("request.MaxHoldTime", ex.ParamName);
    }

    [Fact]
    public async Task A_negative_wait_is_refused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Locks.AcquireAsync("wait", new LockRequest { WaitTimeout = TimeSpan.FromSeconds(-2) }, Clusters.Bound()));
        Assert.Equal("request.WaitTimeout", ex.ParamName);
    }

    [Fact]
    public async Task An_already_cancelled_token_sends_nothing()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Locks.AcquireAsync("cancelled", new CancellationToken(true)));
        await Probe.AssertNoLocksAsync();
    }

    [Fact]
    public async Task Zero_nodes_are_refused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => RedLockFactory.ConnectAsync(new RedLockOptions(), Clusters.Bound()));
        Assert.Equal("options.Nodes", ex.ParamName);
        Assert.Contains("At least one node", ex.Message);
    }

    [Fact]
    public async Task The_same_endpoint_twice_is_refused()
    {
        var options = Clusters.Options([Nodes.Endpoints[0], Nodes.Endpoints[1], Nodes.Endpoints[0]]);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => RedLockFactory.ConnectAsync(options, Clusters.Bound()));
        Assert.Equal("options.Nodes", ex.ParamName);
        Assert.Contains("Entries 0 and 2", ex.Message);
    }

    [Fact]
    public async Task Localhost_and_127_0_0_1_on_one_port_are_the_same_endpoint()
    {
        var port = Nodes.Cluster.Nodes[0].Port;
        var options = Clusters.Options([$"127.0.0.1:{port}", Nodes.Endpoints[1], $"localhost:{port}"]);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => RedLockFactory.ConnectAsync(options, Clusters.Bound()));
        Assert.Equal("options.Nodes", ex.ParamName);
    }

    [Fact]
    public async Task Two_endpoints_that_reach_the_same_server_are_refused_by_run_id()
    {
        await using var proxy = new FaultProxy(Nodes.Cluster.Nodes[0].Port);
        var options = Clusters.Options([Nodes.Endpoints[0], Nodes.Endpoints[1], proxy.Endpoint]);
        var ex = await Assert.ThrowsAsync<RedLockConfigurationException>(() => RedLockFactory.ConnectAsync(options, Clusters.Bound()));
        Assert.Contains("same server", ex.Message);
        Assert.Contains(proxy.Endpoint, ex.Message);
    }

    [Fact]
    public async Task Two_endpoints_that_reach_the_same_fresh_server_are_refused_by_run_id()
    {
        // fresh servers have empty script caches: the identity read must not depend on a script being cached
        // (it once did, and every identity then read as unknown: no independence check, no restart baseline)
        await using var cluster = await TestNodeCluster.StartAsync(2, cancellationToken: Clusters.Bound());
        await using var proxy = new FaultProxy(cluster.Nodes[0].Port);
        // a fresh Garnet node compiles its first script slowly on a loaded machine: give the identity read time to answer
        var options = Clusters.Options([cluster.Endpoints[0], cluster.Endpoints[1], proxy.Endpoint], o => o.ConnectTimeout = TimeSpan.FromSeconds(10));
        var ex = await Assert.ThrowsAsync<RedLockConfigurationException>(() => RedLockFactory.ConnectAsync(options, Clusters.Bound()));
        Assert.Contains("same server", ex.Message);
    }

    [Fact]
    public async Task An_entry_with_two_endpoints_is_refused()
    {
        var options = Clusters.Options([$"{Nodes.Endpoints[0]},{Nodes.Endpoints[1]}"]);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => RedLockFactory.ConnectAsync(options, Clusters.Bound()));
        Assert.Equal("options.Nodes[0]", ex.ParamName);
        Assert.Contains("exactly one endpoint", ex.Message);
    }

    [Theory]
    [InlineData("DriftFactor")]
    [InlineData("NodeTimeout")]
    [InlineData("MaxRetryDelay")]
    [InlineData("DefaultExpiry")]
    [InlineData("KeyPrefix")]
    [InlineData("RenewalBatchSize")]
    [InlineData("FenceRetention")]
    [InlineData("MaxHoldTime")]
    [InlineData("LostTokenSafetyMargin")]
    public async Task Bad_options_name_the_option(string option)
    {
        var options = Clusters.Options(Nodes.Endpoints, o =>
        {
            switch (option)
            {
                case "DriftFactor": o.DriftFactor = 0.7; break;
                case "NodeTimeout": o.NodeTimeout = TimeSpan.Zero; break;
                case "MaxRetryDelay": o.MaxRetryDelay = TimeSpan.FromTicks(1); break;
                case "DefaultExpiry": o.DefaultExpiry = TimeSpan.FromMilliseconds(1); break;
                case "RenewalBatchSize": o.RenewalBatchSize = 0; break;
                case "FenceRetention": o.FenceRetention = TimeSpan.Zero; break;
                case "MaxHoldTime": o.MaxHoldTime = TimeSpan.FromMilliseconds(1); break;
                case "LostTokenSafetyMargin": o.LostTokenSafetyMargin = TimeSpan.FromSeconds(-1); break;
                default: o.KeyPrefix = null!; break;
            }
        });
        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(() => RedLockFactory.ConnectAsync(options, Clusters.Bound()));
        Assert.Equal($"options.{option}", ex.ParamName);
    }

    [Fact]
    public async Task Caller_owned_multiplexers_work_and_are_never_disposed_by_the_factory()
    {
        var multiplexers = await Task.WhenAll(Nodes.Endpoints.Select(e => ConnectionMultiplexer.ConnectAsync(e)));
        try
        {
            await using (var locks = await RedLockFactory.CreateAsync(multiplexers, cancellationToken: Clusters.Bound()))
            {
                Assert.Equal(3, locks.NodeCount);
                Assert.Equal(Nodes.Endpoints, locks.NodeNames);
                await using var handle = await locks.AcquireAsync(Clusters.UniqueResource("owned"), Clusters.Bound());
                await Probe.EventuallyAsync(handle.Resource, v => v == handle.LockId);
            }

            Assert.All(multiplexers, m => Assert.True(m.IsConnected));
            await multiplexers[0].GetDatabase().PingAsync();
        }
        finally
        {
            foreach (var multiplexer in multiplexers)
            {
                await multiplexer.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task The_same_multiplexer_twice_or_none_at_all_is_refused()
    {
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(Nodes.Endpoints[0]);
        var twice = await Assert.ThrowsAsync<ArgumentException>(() => RedLockFactory.CreateAsync([multiplexer, multiplexer], cancellationToken: Clusters.Bound()));
        Assert.Equal("multiplexers", twice.ParamName);
        var none = await Assert.ThrowsAsync<ArgumentException>(() => RedLockFactory.CreateAsync([], cancellationToken: Clusters.Bound()));
        Assert.Equal("multiplexers", none.ParamName);
    }

    [Fact]
    public async Task An_even_node_count_is_accepted_with_a_warning()
    {
        var log = new TestLoggerFactory();
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(Nodes.Endpoints.Take(2), o => o.LoggerFactory = log), Clusters.Bound());
        Assert.Equal(2, locks.Majority);
        Assert.Contains(log.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains("even count", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_replica_is_refused_at_connect_and_a_master_with_a_replica_is_warned_about()
    {
        Assert.SkipWhen(Nodes.Cluster.Backend != NodeBackend.RedisServer, "replication between standalone servers is tested with redis-server");
        await using var pair = await TestNodeCluster.StartAsync(2, NodeBackend.RedisServer, cancellationToken: Clusters.Bound());
        var (master, replica) = (pair.Nodes[0], pair.Nodes[1]);
        await using (var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{replica.Endpoint},allowAdmin=true"))
        {
            await admin.GetDatabase().ExecuteAsync("REPLICAOF", "127.0.0.1", master.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!((await admin.GetServer(replica.Endpoint).InfoRawAsync("replication")) ?? string.Empty).Contains("master_link_status:up", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, "the replica never linked to its master");
                await Task.Delay(50, Clusters.Bound());
            }
        }

        var refused = await Assert.ThrowsAsync<RedLockConfigurationException>(() => RedLockFactory.ConnectAsync(Clusters.Options([Nodes.Endpoints[0], Nodes.Endpoints[1], replica.Endpoint]), Clusters.Bound()));
        Assert.Contains(replica.Endpoint, refused.Message, StringComparison.Ordinal);
        Assert.Contains("is a replica", refused.Message, StringComparison.Ordinal);

        var log = new TestLoggerFactory();
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options([Nodes.Endpoints[0], Nodes.Endpoints[1], master.Endpoint], o => o.LoggerFactory = log), Clusters.Bound());
        var warning = Assert.Single(log.Lines, line => line.Contains("connected replica", StringComparison.Ordinal));
        Assert.Contains(master.Endpoint, warning, StringComparison.Ordinal);
        Assert.DoesNotContain(log.Lines, line => line.Contains("connected replica", StringComparison.Ordinal) && line.Contains(Nodes.Endpoints[0], StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connecting_warns_about_nodes_that_can_forget_locks()
    {
        var log = new TestLoggerFactory();
        await using var locks = await RedLockFactory.ConnectAsync(Clusters.Options(Nodes.Endpoints, o => o.LoggerFactory = log), Clusters.Bound());

        // the rig runs redis-server without AOF, and Garnet without --aof: both must be called out, once per node
        var expected = Nodes.Cluster.Backend == NodeBackend.Garnet ? "--lua-transaction-mode" : "runs without AOF";
        Assert.Equal(3, log.Lines.Count(line => line.Contains(expected, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Passwords_never_reach_exceptions_or_logs_and_lock_ids_are_logged_as_a_prefix_only()
    {
        var log = new TestLoggerFactory();
        var closedPort = Nodes.Cluster.Nodes[0].Port + 20000 > 65535 ? 1 : Nodes.Cluster.Nodes[0].Port + 20000;
        var options = Clusters.Options(
            [Nodes.Endpoints[0], Nodes.Endpoints[1], $"127.0.0.1:{closedPort},password=s3cret-pw"],
            o => o.LoggerFactory = log);
        await using var locks = await RedLockFactory.ConnectAsync(options, Clusters.Bound());
        var handle = await locks.AcquireAsync(Clusters.UniqueResource("secret"), Clusters.Bound());
        await handle.ReleaseAsync(Clusters.Bound()); // two of three confirm: a warning, no exception

        var fail = await Assert.ThrowsAsync<QuorumUnavailableException>(async () =>
        {
            await using var broken = await RedLockFactory.ConnectAsync(
                Clusters.Options([$"127.0.0.1:{closedPort},password=s3cret-pw"], o => o.LoggerFactory = log), Clusters.Bound());
            await broken.AcquireAsync("secret", new LockRequest { WaitTimeout = TimeSpan.Zero }, Clusters.Bound());
        });

        Assert.DoesNotContain("s3cret", fail.ToString());
        Assert.NotEmpty(log.Lines);
        Assert.All(log.Lines, line =>
        {
            Assert.DoesNotContain("s3cret", line);
            Assert.DoesNotContain(handle.LockId, line);
        });
        Assert.Contains(log.Lines, line => line.Contains(handle.LockId[..8], StringComparison.Ordinal));
    }
}
