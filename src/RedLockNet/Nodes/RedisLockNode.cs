using System.Net;
using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>One Redis node reached through its own multiplexer.</summary>
internal sealed class RedisLockNode : ILockNode
{
    private readonly IConnectionMultiplexer _multiplexer;
    private readonly IDatabase _database;

    public RedisLockNode(IConnectionMultiplexer multiplexer, bool owned)
    {
        _multiplexer = multiplexer;
        _database = multiplexer.GetDatabase();
        Owned = owned;
        Name = string.Join(",", multiplexer.GetEndPoints().Select(FormatEndPoint));
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Whether the factory created the multiplexer and so must dispose it.</summary>
    public bool Owned { get; }

    public IConnectionMultiplexer Multiplexer => _multiplexer;

    /// <inheritdoc />
    public Task<RedisResult> RunAsync(LockScript script, RedisKey[] keys, RedisValue[] args) =>
        script.EvaluateAsync(_database, keys, args);

    internal static string FormatEndPoint(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        IPEndPoint ip => ip.ToString(),
        _ => endpoint.ToString() ?? "?",
    };
}
