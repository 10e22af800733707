using System.Net;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>
/// One Redis node reached through its own multiplexer. With a <see cref="RestartWatch"/>, scripts that could grant
/// a lock or that recall a record carry the node's data epoch, wait for a restart check first while the node is
/// suspect, and are refused while it is in quarantine (for a record: until its retention has passed since a loss).
/// </summary>
internal sealed class RedisLockNode : ILockNode, IAsyncDisposable
{
    private readonly IConnectionMultiplexer _multiplexer;
    private readonly IDatabase _database;
    private readonly bool _owned;
    private RestartWatch? _watch;
    private (RedisChannel Channel, Action<RedisChannel, RedisValue> Handler)? _subscription;

    public RedisLockNode(IConnectionMultiplexer multiplexer, bool owned)
    {
        _multiplexer = multiplexer;
        _database = multiplexer.GetDatabase();
        _owned = owned;
        Name = string.Join(",", multiplexer.GetEndPoints().Select(FormatEndPoint));
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The node's restart watch once started; null before.</summary>
    internal RestartWatch? Watch => _watch;

    /// <summary>
    /// Starts watching for restarts (<see cref="RestartWatch"/>), and loads the scripts again whenever the connection
    /// comes back (a restarted server has an empty script cache).
    /// </summary>
    public void WatchRestarts(QuarantinePolicy policy, NodeIdentity? baseline)
    {
        _watch = new RestartWatch(_multiplexer, _database, Name, policy, baseline);
        _multiplexer.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>
    /// Loads every lock script into the node's script cache (best effort), so EVALSHA finds them: no NOSCRIPT round
    /// trip on first use, and no EVAL retry that could run after a command sent later on the same connection.
    /// </summary>
    public async Task PreloadScriptsAsync()
    {
        var loads = ScriptCatalog.LockNodeScripts.Concat(ScriptCatalog.EpochCheckedScripts)
            .Select(script => _database.ExecuteAsync("SCRIPT", "LOAD", script.Text)).ToArray();
        try
        {
            await Task.WhenAll(loads).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException)
        {
            // the node is down or does not allow SCRIPT: EVALSHA falls back to EVAL on first use
            foreach (var load in loads)
            {
                NodeCalls.Observe(load);
            }
        }
    }

    /// <inheritdoc />
    public Task<RedisResult> RunAsync(ScriptCall call)
    {
        if ((call.Script.GrantsLocks || call.Script.RecallsRecords) && _watch is { } watch)
        {
            return watch.MayServe(call.Recalls, out var epoch) ? SendEpochChecked(watch.EpochKey, epoch, call) : GuardedAsync(watch, call);
        }

        return call.Script.SendAsync(_database, call);
    }

    /// <inheritdoc />
    public void Failed(Exception error) => _watch?.Failed(error);

    /// <inheritdoc />
    public async Task SubscribeAsync(RedisChannel channel, Action<RedisValue> onMessage)
    {
        Action<RedisChannel, RedisValue> handler = (_, message) => onMessage(message);
        _subscription = (channel, handler);
        try
        {
            await _multiplexer.GetSubscriber().SubscribeAsync(channel, handler).ConfigureAwait(false);
        }
        catch (RedisException)
        {
            // the node is down: the multiplexer subscribes when it reconnects; until then waiters poll
        }
    }

    /// <inheritdoc />
    public TimeSpan QuarantineRemaining => _watch?.Quarantine.Remaining ?? TimeSpan.Zero;

    /// <summary>
    /// One round trip for a health probe: PING, or, while the node is suspect after a dropped connection, the restart
    /// check the next granting script would run (so a restarted node shows its quarantine). A quarantine is not an
    /// error here: read <see cref="QuarantineRemaining"/> after.
    /// </summary>
    public async Task ProbeAsync()
    {
        if (_watch is { Quarantine.IsSuspect: true } watch)
        {
            try
            {
                await watch.EnsureMayGrantAsync().ConfigureAwait(false);
            }
            catch (NodeQuarantinedException)
            {
                // it answered; the quarantine is reported, not thrown
            }

            return;
        }

        await _database.PingAsync().ConfigureAwait(false);
    }

    /// <summary>Stops watching and, when this node opened the multiplexer, closes it.</summary>
    public async ValueTask DisposeAsync()
    {
        _multiplexer.ConnectionRestored -= OnConnectionRestored;
        if (!_owned && _subscription is { } subscription)
        {
            try
            {
                await _multiplexer.GetSubscriber().UnsubscribeAsync(subscription.Channel, subscription.Handler).ConfigureAwait(false);
            }
            catch (RedisException)
            {
                // gone with the connection
            }
        }

        _watch?.Dispose();
        if (_owned)
        {
            await _multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal static string FormatEndPoint(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        IPEndPoint ip => ip.ToString(),
        _ => endpoint.ToString() ?? "?",
    };

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            NodeCalls.Observe(PreloadScriptsAsync());
        }
    }

    private async Task<RedisResult> GuardedAsync(RestartWatch watch, ScriptCall call)
    {
        await watch.EnsureMayServeAsync(call.Recalls).ConfigureAwait(false);
        if (!watch.MayServe(call.Recalls, out var epoch))
        {
            // suspect again (another call found a new epoch, or the connection dropped) since the check: this vote
            // fails, and the next grant is checked again
            throw new RedisException("The node became suspect again while it was being checked; it is checked again before it grants");
        }

        return await SendEpochChecked(watch.EpochKey, epoch, call).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a granting script in its epoch-checked form, with the epoch key and the epoch this node last showed appended
    /// to its keys and arguments: a node that lost its data since refuses, whatever its connection did.
    /// </summary>
    private Task<RedisResult> SendEpochChecked(RedisKey epochKey, string? epoch, in ScriptCall call)
    {
        if (epoch is null)
        {
            return call.Script.SendAsync(_database, call); // quarantine off, or not read yet (then the node was suspect, and checked first)
        }

        var keys = new RedisKey[call.Keys.Length + 1];
        call.Keys.CopyTo(keys, 0);
        keys[^1] = epochKey;
        var args = new RedisValue[call.Args.Length + 1];
        call.Args.CopyTo(args, 0);
        args[^1] = epoch;
        return call.Script.EpochChecked!.SendAsync(_database, call with { Keys = keys, Args = args });
    }
}
