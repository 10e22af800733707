using System.Globalization;
using StackExchange.Redis;

namespace RedLockNet.Benchmarks;

/// <summary>
/// Reads the INFO counters (<see cref="ServerSample"/>) of every server of a <see cref="MemberSet"/>, over one admin
/// connection per member opened up front and kept for the whole measurement: its own traffic (an INFO per server per
/// reading, heartbeats) is then steady and small, and an idle baseline takes it out, where a connection per reading
/// would add a handshake's commands to every window.
/// </summary>
internal sealed class ServerStats : IAsyncDisposable
{
    private readonly MemberSet members;
    private readonly ConnectionMultiplexer[] connections;

    private ServerStats(MemberSet members, ConnectionMultiplexer[] connections)
    {
        this.members = members;
        this.connections = connections;
    }

    /// <summary>Connects to every server of <paramref name="members"/> (a cluster member's connection lists all its masters).</summary>
    public static async Task<ServerStats> ConnectAsync(MemberSet members)
    {
        var connections = await Task.WhenAll(members.Shards.Select(shards =>
        {
            var config = new ConfigurationOptions { AllowAdmin = true, ClientName = "bench-stats", ConnectTimeout = 5000 };
            foreach (var endpoint in shards)
            {
                config.EndPoints.Add(endpoint);
            }

            return ConnectionMultiplexer.ConnectAsync(config);
        }));
        return new ServerStats(members, connections);
    }

    /// <summary>Every server's counters now, as <c>[member][shard]</c> in the order of <see cref="MemberSet.Shards"/>.</summary>
    public async Task<ServerSample[][]> SampleAsync() =>
        await Task.WhenAll(members.Shards.Select((shards, m) => Task.WhenAll(shards.Select(endpoint => SampleAsync(connections[m].GetServer(endpoint))))));

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }
    }

    private static async Task<ServerSample> SampleAsync(IServer server)
    {
        long commands = 0, scripts = 0;
        double cpu = 0;
        foreach (var (key, value) in (await server.InfoAsync("all")).SelectMany(section => section))
        {
            switch (key)
            {
                case "total_commands_processed":
                    commands = long.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "used_cpu_user" or "used_cpu_sys":
                    cpu += double.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "cmdstat_eval" or "cmdstat_evalsha":
                    var calls = value.Split(',')[0]; // calls=N,usec=...
                    scripts += long.Parse(calls[(calls.IndexOf('=', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
                    break;
            }
        }

        return new ServerSample(commands, scripts, cpu);
    }
}
