using System.Diagnostics;
using RedLockNet.Hosting.Election;
using RedLockNet.Idempotency;
using RedLockNet.Tests.Unit.Integration;
using RedLockNet.TestRig;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Security;

/// <summary>
/// The whole lock flow on nodes that speak TLS only and admit one least-privileged ACL user (the default user off),
/// and what those nodes refuse.
/// </summary>
[Collection(SecureNodesGroup.Name)]
public sealed class TlsAclTests(SecureNodes nodes, ITestOutputHelper output)
{
    [Fact]
    public async Task Acquire_renew_fence_wait_record_and_elect_over_tls_as_the_least_privileged_user()
    {
        await nodes.RefusalsAsync(); // start from an empty ACL log
        var connections = new List<ConnectionMultiplexer>();
        try
        {
            var a = await FactoryAsync(connections);
            var b = await FactoryAsync(connections);
            var clock = Stopwatch.StartNew();

            // a one-second lease that must be renewed (every third of a second) for the rest of the test
            await using var renewed = await a.AcquireAsync("tls:renewed", TimeSpan.FromSeconds(1), Clusters.Bound());
            Assert.Null(await b.TryAcquireAsync("tls:renewed", Clusters.Bound()));

            // fencing: minted for a holder, strictly greater for the next holder
            long first;
            await using (var fenced = await a.AcquireAsync("tls:fenced", Clusters.Bound()))
            {
                first = await fenced.GetFencingTokenAsync(Clusters.Bound());
            }

            await using (var next = await b.AcquireAsync("tls:fenced", new LockRequest { FencingOnAcquire = true }, Clusters.Bound()))
            {
                Assert.True(next.FencingToken > first, $"{next.FencingToken} after {first}");
            }

            // a waiter in the waiting room, woken over the wake-up channel when the holder releases
            var held = await a.AcquireAsync("tls:waited", Clusters.Bound());
            var waiting = b.AcquireAsync("tls:waited", Clusters.Bound());
            await Task.Delay(200, TestContext.Current.CancellationToken);
            Assert.False(waiting.IsCompleted);
            await held.ReleaseAsync(Clusters.Bound());
            await (await waiting).ReleaseAsync(Clusters.Bound());

            // a completion record written by one replica and read by another
            var key = "tls:" + Guid.NewGuid().ToString("N");
            var ran = await new IdempotentProcessor(a).RunOnceAsync(key, _ => Task.FromResult("charged"), Clusters.Bound());
            var replayed = await new IdempotentProcessor(b).RunOnceAsync(key, _ => Task.FromResult("charged twice"), Clusters.Bound());
            Assert.True(ran.Executed);
            Assert.True(replayed.Replayed);
            Assert.Equal("charged", replayed.Result);

            await ElectOneLeaderAsync(a, b);

            // the lease outlived several of its expiries only through renewals
            var rest = TimeSpan.FromSeconds(2.5) - clock.Elapsed;
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest, TestContext.Current.CancellationToken);
            }

            Assert.Equal(LockStatus.Held, renewed.Status);
            Assert.False(renewed.LostToken.IsCancellationRequested);
            Assert.Null(await b.TryAcquireAsync("tls:renewed", Clusters.Bound()));
            await renewed.ReleaseAsync(Clusters.Bound());
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        // every command the flow needed was allowed: the nodes refused only connection set-up the client does without
        if (await nodes.RefusalsAsync() is { } refusals)
        {
            output.WriteLine("refused to the library's user: " + string.Join("; ", refusals));
            Assert.Empty(refusals.Except(ToleratedRefusals));
        }
        else
        {
            output.WriteLine("Garnet has no ACL LOG: the flow above is the check that the user may do what it needs");
        }
    }

    [Fact]
    public void The_readme_quotes_the_acl_rules_these_tests_run_with()
    {
        var readme = File.ReadAllText(Path.Combine(Docs.ReadmeSnippetTests.RepositoryRoot(), "README.md"));
        Assert.Contains($"user {SecureNodes.User} on >PASSWORD {SecureNodes.RedisAclRules}\n", readme, StringComparison.Ordinal);
        Assert.Contains(SecureNodes.AclCommands, readme, StringComparison.Ordinal);
    }

    /// <summary>
    /// What StackExchange.Redis asks for when it connects and does without when refused (the README lists them): its
    /// configuration channel and tie-breaker key (outside the user's patterns), CLIENT SETNAME/ID, CLUSTER, CONFIG GET.
    /// </summary>
    private static readonly string[] ToleratedRefusals =
    [
        "__Booksleeve_MasterChanged channel", "__Booksleeve_TieBreak key", "client|id command", "client|setname command",
        "client|setinfo command", "cluster|nodes command", "cluster|slots command", "config|get command",
    ];

    [Fact]
    public async Task The_nodes_refuse_plain_connections_the_default_user_an_unknown_ca_and_commands_outside_the_rules()
    {
        var node = nodes.Cluster.Nodes[0];
        Assert.False(await RespProbe.PingAsync(node.Port, TimeSpan.FromSeconds(2), Clusters.Bound()), "answered PING without TLS");

        var noUser = ConfigurationOptions.Parse($"{node.Endpoint},ssl=true,abortConnect=true,connectTimeout=1000");
        noUser.TrustIssuer(nodes.Credentials.CaCertificatePath!);
        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectionMultiplexer.ConnectAsync(noUser));

        var untrusted = ConfigurationOptions.Parse(nodes.ConnectionString(0) + ",abortConnect=true,connectTimeout=1000");
        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectionMultiplexer.ConnectAsync(untrusted));

        var asUser = nodes.Configuration(0);
        asUser.AllowAdmin = true; // the server, not the client, must say no
        await using var user = await ConnectionMultiplexer.ConnectAsync(asUser);
        var database = user.GetDatabase();
        Assert.Equal("PONG", (string?)await database.ExecuteAsync("PING"));
        await database.ExecuteAsync("SET", "redlock:{tls:own}", "allowed", "PX", "5000"); // inside the key pattern
        object[][] outside = nodes.Backend == NodeBackend.Garnet ? [] : [["SET", "app:key", "x"], ["GET", "app:key"]]; // Garnet: no key patterns
        foreach (var command in outside.Concat([["FLUSHALL"], ["CONFIG", "SET", "appendonly", "yes"], ["KEYS", "*"], ["ACL", "LIST"], ["SCRIPT", "FLUSH"]]))
        {
            var refused = await Assert.ThrowsAsync<RedisServerException>(() => database.ExecuteAsync((string)command[0], command[1..]));
            Assert.StartsWith("NOPERM", refused.Message, StringComparison.Ordinal);
        }

        // a script runs with its caller's permissions
        await Assert.ThrowsAsync<RedisServerException>(() => database.ScriptEvaluateAsync("return redis.call('FLUSHALL')"));
        await nodes.RefusalsAsync();
    }

    private async Task<RedLockFactory> FactoryAsync(List<ConnectionMultiplexer> connections)
    {
        var multiplexers = await nodes.ConnectAsync();
        connections.AddRange(multiplexers);
        return await RedLockFactory.CreateAsync(multiplexers, Clusters.Options([]), Clusters.Bound());
    }

    private static async Task ElectOneLeaderAsync(RedLockFactory a, RedLockFactory b)
    {
        var group = "tls-election-" + Guid.NewGuid().ToString("N");
        var terms = new TaskCompletionSource<LeadershipTerm>(TaskCreationOptions.RunContinuationsAsynchronously);
        LeaderElectionOptions Options() => new()
        {
            Group = group,
            LeaseDuration = TimeSpan.FromSeconds(2),
            RenewDeadline = TimeSpan.FromSeconds(1.5),
            RetryPeriod = TimeSpan.FromMilliseconds(300),
            OnStartedLeading = (term, ct) =>
            {
                terms.TrySetResult(term);
                return Task.Delay(Timeout.Infinite, ct);
            },
        };
        var electors = new[] { new LeaderElector(a, Options()), new LeaderElector(b, Options()) };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var campaigns = electors.Select(e => e.RunAsync(stop.Token)).ToArray();
        var term = await terms.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.True(term.Epoch > 0);
        Assert.Single(electors, e => e.IsLeader);
        await stop.CancelAsync();
        await Task.WhenAll(campaigns).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
    }
}
