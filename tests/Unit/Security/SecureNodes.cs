using RedLockNet.TestRig;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Security;

/// <summary>
/// Three nodes that speak TLS only (a CA made for them) and admit the library's least-privileged ACL user, shared by
/// the tests of a class.
/// </summary>
public sealed class SecureNodes : IAsyncLifetime
{
    /// <summary>The ACL user the library connects as.</summary>
    public const string User = "redlock";

    /// <summary>
    /// The commands a lock node's user needs: the scripts (EVALSHA, EVAL, SCRIPT LOAD) and what they call, plain
    /// SET NX acquisition, INFO (restart checks, inside a script), PING (heartbeat, health), ECHO (StackExchange.Redis
    /// checks a new connection with it), SUBSCRIBE to the wake-up channel.
    /// </summary>
    public const string AclCommands =
        "-@all +evalsha +eval +script|load +ping +echo +info +subscribe +unsubscribe "
        + "+set +get +del +exists +pexpire +hget +hset +time +zadd +zcard +zrange +zrangebyscore +zrem +publish";

    /// <summary>redis-server: those commands, on keys and channels under the default <c>redlock:</c> prefix only. The README quotes it.</summary>
    public const string RedisAclRules = "resetkeys ~redlock:* resetchannels &redlock:wake:* " + AclCommands;

    /// <summary>Garnet 2.2.8's ACL has no key or channel patterns (it refuses <c>~prefix*</c> and <c>&amp;</c>): the commands only.</summary>
    public const string GarnetAclRules = "~* " + AclCommands;

    public NodeBackend Backend { get; } = NodeBackendSelector.FromEnvironment();

    public TestNodeCluster Cluster { get; private set; } = null!;

    public NodeCredentials Credentials => Cluster.Credentials!;

    public async ValueTask InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Cluster = await TestNodeCluster.StartAsync(3, new NodeSecurity { Tls = true, User = User, UserRules = Backend == NodeBackend.Garnet ? GarnetAclRules : RedisAclRules }, Backend, cancellationToken: cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>A node entry as a user writes it: endpoint, <c>ssl=true</c>, the ACL user and password.</summary>
    public string ConnectionString(int node) =>
        $"{Cluster.Endpoints[node]},ssl=true,user={Credentials.User},password={Credentials.Password}";

    /// <summary>
    /// The library's connection settings for entry <paramref name="node"/> plus trust in the test CA, which a
    /// connection string cannot express (<see cref="ConfigurationOptions.TrustIssuer(string)"/>).
    /// </summary>
    public ConfigurationOptions Configuration(int node)
    {
        var config = ConfigurationOptions.Parse(ConnectionString(node));
        config.TrustIssuer(Credentials.CaCertificatePath!);
        config.AbortOnConnectFail = false;
        config.BacklogPolicy = BacklogPolicy.FailFast;
        config.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
        config.ConnectTimeout = 2000;
        return config;
    }

    /// <summary>Connections to every node as the ACL user, over TLS.</summary>
    public async Task<ConnectionMultiplexer[]> ConnectAsync() =>
        await Task.WhenAll(Enumerable.Range(0, Cluster.Nodes.Count).Select(i => ConnectionMultiplexer.ConnectAsync(Configuration(i))));

    /// <summary>An admin connection to one node (to read its ACL log), over TLS.</summary>
    public async Task<ConnectionMultiplexer> AdminAsync(int node)
    {
        var config = ConfigurationOptions.Parse($"{Cluster.Endpoints[node]},ssl=true,allowAdmin=true");
        config.User = Credentials.AdminUser;
        config.Password = Credentials.AdminPassword;
        config.TrustIssuer(Credentials.CaCertificatePath!);
        return await ConnectionMultiplexer.ConnectAsync(config);
    }

    /// <summary>
    /// What each node's ACL log holds for the library's user: "command reason" per entry (then resets the log);
    /// <see langword="null"/> on Garnet, which has no ACL LOG.
    /// </summary>
    public async Task<string[]?> RefusalsAsync()
    {
        if (Backend == NodeBackend.Garnet)
        {
            return null;
        }

        var refusals = new List<string>();
        for (var i = 0; i < Cluster.Nodes.Count; i++)
        {
            await using var admin = await AdminAsync(i);
            var database = admin.GetDatabase();
            var log = await database.ExecuteAsync("ACL", "LOG");
            foreach (var entry in (RedisResult[])log!)
            {
                var fields = entry.ToDictionary();
                if ((string?)fields["username"] == User)
                {
                    refusals.Add($"{(string?)fields["object"]} {(string?)fields["reason"]}");
                }
            }

            await database.ExecuteAsync("ACL", "LOG", "RESET");
        }

        return [.. refusals.Distinct()];
    }
}

/// <summary>The test classes that share one <see cref="SecureNodes"/> cluster (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class SecureNodesGroup : ICollectionFixture<SecureNodes>
{
    public const string Name = "secure nodes";
}
