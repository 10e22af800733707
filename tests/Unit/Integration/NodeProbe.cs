using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>Reads lock keys straight from each node, independently of the library, to check what it left there.</summary>
public sealed class NodeProbe : IAsyncDisposable
{
    private readonly ConnectionMultiplexer[] _connections;

    private NodeProbe(ConnectionMultiplexer[] connections) => _connections = connections;

    internal static async Task<NodeProbe> ConnectAsync(IEnumerable<string> endpoints)
    {
        var connections = await Task.WhenAll(endpoints.Select(e =>
            ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
            {
                EndPoints = { e },
                AbortOnConnectFail = false,
                BacklogPolicy = BacklogPolicy.FailFast,
                ConnectTimeout = 2000,
                AsyncTimeout = 2000,
                AllowAdmin = true,
            })));
        return new NodeProbe(connections);
    }

    /// <summary>What <see cref="ValuesAsync"/> reports for a node that does not answer.</summary>
    public const string Down = "<down>";

    /// <summary>The value of <c>redlock:{resource}</c> on each node (null where absent).</summary>
    public async Task<string?[]> ValuesAsync(string resource, string prefix = "redlock:")
    {
        var key = (RedisKey)$"{prefix}{{{resource}}}";
        return await Task.WhenAll(_connections.Select(async c =>
        {
            try
            {
                return (string?)await c.GetDatabase().StringGetAsync(key);
            }
            catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException)
            {
                return Down;
            }
        }));
    }

    /// <summary>How many tickets wait in the resource's waiting room on each node.</summary>
    public async Task<long[]> WaitingAsync(string resource, string prefix = "redlock:") =>
        await Task.WhenAll(_connections.Select(c => c.GetDatabase().SortedSetLengthAsync($"{prefix}{{{resource}}}:waiting")));

    /// <summary>Puts a ticket of a process that will never come back into the resource's waiting room on every node.</summary>
    public async Task AddDeadWaiterAsync(string resource, string ticket, string prefix = "redlock:")
    {
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var connection in _connections)
        {
            var database = connection.GetDatabase();
            var server = connection.GetServer(connection.GetEndPoints()[0]);
            var nodeMs = (long)(await server.TimeAsync() - DateTime.UnixEpoch).TotalMilliseconds;
            await database.SortedSetAddAsync($"{prefix}{{{resource}}}:waiting", ticket, 1000 * (nowMs - 60_000)); // first in line
            await database.SortedSetAddAsync($"{prefix}{{{resource}}}:seen", ticket, nodeMs);
        }
    }

    /// <summary>Deletes <c>redlock:{resource}</c> on one node, behind the library's back.</summary>
    public Task DeleteAsync(string resource, int node, string prefix = "redlock:") =>
        _connections[node].GetDatabase().KeyDeleteAsync($"{prefix}{{{resource}}}");

    /// <summary>How many keys each node holds.</summary>
    /// <summary>Every key on any node whose name contains <paramref name="marker"/> (letters, digits, ':' and '-' only).</summary>
    public async Task<List<string>> KeysContainingAsync(string marker)
    {
        var found = new List<string>();
        foreach (var connection in _connections)
        {
            await foreach (var key in connection.GetServer(connection.GetEndPoints()[0]).KeysAsync(pattern: $"*{marker}*"))
            {
                found.Add((string)key!);
            }
        }

        return found;
    }

    /// <summary>Waits (bounded) until every node's value of the resource satisfies <paramref name="condition"/>, then asserts it.</summary>
    public async Task EventuallyAsync(string resource, Func<string?, bool> condition, string prefix = "redlock:")
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string?[] values;
        while (!(values = await ValuesAsync(resource, prefix)).All(condition) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.All(values, v => Assert.True(condition(v), $"value {v ?? "null"}"));
    }

    /// <summary>Asserts that no node holds any key at all (waiting, bounded, for commands still in flight), naming what it finds.</summary>
    public Task AssertNoKeysAsync() => AssertNoKeysAsync(_ => true);

    /// <summary>Asserts that no node holds any lock key (fencing counters are kept on purpose, for their retention).</summary>
    public Task AssertNoLocksAsync() => AssertNoKeysAsync(key => !key.EndsWith(":fence", StringComparison.Ordinal));

    private async Task AssertNoKeysAsync(Func<string, bool> counts)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        List<string> found;
        do
        {
            found = [];
            foreach (var connection in _connections)
            {
                await foreach (var key in connection.GetServer(connection.GetEndPoints()[0]).KeysAsync(pattern: "*"))
                {
                    // the node's data epoch (identity.lua) is written at connect and kept: it is not a lock's leftover
                    if (counts((string)key!) && !IsEpoch((string)key!))
                    {
                        found.Add((string)key!);
                    }
                }
            }

            if (found.Count > 0)
            {
                await Task.Delay(20);
            }
        }
        while (found.Count > 0 && DateTime.UtcNow < deadline);

        Assert.Empty(found);
    }

    private static bool IsEpoch(string key) => key.EndsWith("epoch", StringComparison.Ordinal) && !key.Contains('{', StringComparison.Ordinal);

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }
}
