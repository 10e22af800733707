using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>
/// The one seam between the engine and node I/O: run this script on that node, get a reply or an error.
/// Production uses <see cref="RedisLockNode"/>; property tests use simulated nodes.
/// </summary>
internal interface ILockNode
{
    /// <summary>The node's endpoint (host:port) for errors and logs; never carries credentials.</summary>
    string Name { get; }

    /// <summary>
    /// Runs <paramref name="call"/>. Errors come back as a faulted task (RedisException and subclasses);
    /// the caller applies the timeout.
    /// </summary>
    Task<RedisResult> RunAsync(ScriptCall call);

    /// <summary>
    /// Calls <paramref name="onMessage"/> with each message published on <paramref name="channel"/> on this node, also
    /// after a reconnect. A node that cannot deliver messages leaves those who wait for one to their fallback poll.
    /// </summary>
    Task SubscribeAsync(RedisChannel channel, Action<RedisValue> onMessage) => Task.CompletedTask;

    /// <summary>
    /// One cheap round trip for a health probe; errors come back as a faulted task. A node that knows only scripts
    /// (the simulated ones) reads its identity instead of a PING.
    /// </summary>
    Task ProbeAsync() => NodeCalls.RunAloneAsync(this, InfoCall.Server.ToCall());

    /// <summary>Hears that a call to this node failed with <paramref name="error"/> (a node that watches for data loss learns from it).</summary>
    void Failed(Exception error)
    {
    }

    /// <summary>Time left in restart quarantine; zero when not quarantined (or when the node does not watch restarts).</summary>
    TimeSpan QuarantineRemaining => TimeSpan.Zero;

    /// <summary>What keeps the node out of the vote, for a health report: which shards of a cluster member; null for the general reason.</summary>
    string? QuarantineDetail => null;
}
