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
    private ShardWatches? _shards;
    private QuarantinePolicy? _policy;
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
        _policy = policy;
        _watch = new RestartWatch(_multiplexer, _database, Name, policy, baseline);
        _multiplexer.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>
    /// For a cluster member: reads every shard's identity (the independence check's input) and, with restart quarantine
    /// on, starts watching each shard (<see cref="ShardWatches"/>) in place of <see cref="WatchRestarts"/>; the scripts
    /// are loaded again whenever a shard's connection comes back.
    /// </summary>
    public async Task<IReadOnlyList<(string Shard, NodeIdentity? Identity)>> WatchShardsAsync(QuarantinePolicy policy, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (watches, identities) = await ShardWatches.StartAsync(_multiplexer, _database, Name, policy, policy.Mode != RestartQuarantineMode.Off, timeout, cancellationToken).ConfigureAwait(false);
        _shards = watches;
        _multiplexer.ConnectionRestored += OnConnectionRestored;
        return identities;
    }

    /// <summary>
    /// Loads every lock script into the node's script cache (best effort), so EVALSHA finds them: no NOSCRIPT round
    /// trip on first use, and no EVAL retry that could run after a command sent later on the same connection.
    /// </summary>
    public async Task PreloadScriptsAsync()
    {
        var scripts = ScriptCatalog.LockNodeScripts.Concat(ScriptCatalog.EpochCheckedScripts);
        var loads = IsCluster
            ? [.. Shards().Where(server => server.IsConnected).SelectMany(server => scripts.Concat(ScriptCatalog.ClusterShardScripts).Select(script => server.ExecuteAsync("SCRIPT", "LOAD", script.Text)))] // each shard has its own cache
            : scripts.Select(script => _database.ExecuteAsync("SCRIPT", "LOAD", script.Text)).ToArray();
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

    /// <summary>
    /// Whether this node is a Redis Cluster (one Redlock member of several shards), once a server of it has been seen
    /// connected; false until then.
    /// </summary>
    public bool IsCluster => (_isCluster ??= DetectCluster()) == true;

    private bool? _isCluster;

    /// <inheritdoc />
    public Task<RedisResult> RunAsync(ScriptCall call)
    {
        if ((call.Script.GrantsLocks || call.Script.RecallsRecords) && _shards is { } shards)
        {
            return shards.RunAsync(call);
        }

        if ((call.Script.GrantsLocks || call.Script.RecallsRecords) && _watch is { } watch)
        {
            if (IsCluster && LateShardWatches() is { } late)
            {
                return late.RunAsync(call);
            }

            return watch.MayServe(call.Recalls, out var epoch) ? SendEpochChecked(watch.EpochKey, epoch, call) : GuardedAsync(watch, call);
        }

        if (call.Script == ExtendCall.Script && call.Keys.Length > 1 && IsCluster)
        {
            return ExtendByShardAsync(call);
        }

        return call.Script.SendAsync(_database, call);
    }

    /// <summary>
    /// A renewal batch on a cluster: split by the shard that owns each lock's slot, one extend_shard.lua per shard (a
    /// shard with one lock: a single-lock extend.lua), sent together (pipelined), with the answers put back in the
    /// batch's order. A shard's batch that fails other than NOSCRIPT (a server older than Redis 7.0, a slot that has
    /// just moved) is sent again as one extend.lua per slot, the form every cluster accepts.
    /// </summary>
    private async Task<RedisResult> ExtendByShardAsync(ScriptCall call)
    {
        var entries = ExtendCall.Read(call).Entries;
        var byShard = new Dictionary<EndPoint, List<int>>();
        for (var i = 0; i < entries.Count; i++)
        {
            var shard = _multiplexer.GetServer(entries[i].LockKey).EndPoint;
            if (!byShard.TryGetValue(shard, out var members))
            {
                byShard[shard] = members = [];
            }

            members.Add(i);
        }

        var groups = byShard.Values.ToArray();
        var sends = new Task<RedisResult>[groups.Length];
        for (var g = 0; g < groups.Length; g++)
        {
            sends[g] = ExtendOnShardAsync([.. groups[g].Select(i => entries[i])], call.WithText);
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
        return Gather(entries.Count, [.. groups.Select(group => group.ToArray())], sends);
    }

    private async Task<RedisResult> ExtendOnShardAsync(ExtendEntry[] entries, bool withText)
    {
        if (entries.Length == 1)
        {
            var single = new ExtendCall(entries).ToCall() with { WithText = withText };
            return await single.Script.SendAsync(_database, single).ConfigureAwait(false);
        }

        var batch = new ShardExtendCall(entries).ToCall() with { WithText = withText };
        try
        {
            return await batch.Script.SendAsync(_database, batch).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (!LockScript.IsNoScript(ex))
        {
            var bySlot = Enumerable.Range(0, entries.Length).GroupBy(i => KeySlots.Of(entries[i].LockKey)).Select(slot => slot.ToArray()).ToArray();
            var sends = bySlot.Select(slot =>
            {
                var part = new ExtendCall([.. slot.Select(i => entries[i])]).ToCall();
                return part.Script.EvaluateAsync(_database, part.Keys, part.Args);
            }).ToArray();
            await Task.WhenAll(sends).ConfigureAwait(false);
            return Gather(entries.Length, bySlot, sends);
        }
    }

    /// <summary>Puts the answers of a batch sent in parts back in the batch's order: part p answered for the entries <paramref name="parts"/>[p].</summary>
    private static RedisResult Gather(int count, int[][] parts, Task<RedisResult>[] answered)
    {
        var results = new RedisResult[count];
        for (var p = 0; p < parts.Length; p++)
        {
            var answers = (RedisResult[])answered[p].Result!;
            for (var k = 0; k < parts[p].Length && k < answers.Length; k++)
            {
                results[parts[p][k]] = answers[k];
            }
        }

        return RedisResult.Create(results);
    }

    /// <summary>How many replicas a cluster member's configuration lists across its shards (0 for a single server).</summary>
    public int ClusterReplicas() =>
        IsCluster && ShardWatches.ConfigurationOf(_multiplexer) is { } configuration ? configuration.Nodes.Count(node => node.IsReplica) : 0;

    /// <summary>
    /// A member that did not answer at connect was watched as a single server; once it shows itself a cluster, its
    /// grants go through shard watches (started once, from first contact), since the single server's epoch key lies in
    /// another slot than theirs. Null with restart quarantine off (grants carry no epoch then).
    /// </summary>
    private ShardWatches? LateShardWatches()
    {
        if (_policy is not { Mode: not RestartQuarantineMode.Off } policy)
        {
            return null;
        }

        var watches = ShardWatches.FirstContact(_multiplexer, _database, policy);
        if (Interlocked.CompareExchange(ref _shards, watches, null) is { } started)
        {
            watches.Dispose();
            return started;
        }

        return watches;
    }

    /// <summary>A cluster member's shards: its masters, connected or not.</summary>
    private IEnumerable<IServer> Shards() => _multiplexer.GetServers().Where(server => !server.IsReplica);

    private bool? DetectCluster()
    {
        foreach (var server in _multiplexer.GetServers())
        {
            if (server.IsConnected)
            {
                return server.ServerType == ServerType.Cluster;
            }
        }

        return null;
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
    public TimeSpan QuarantineRemaining => _shards?.QuarantineRemaining ?? _watch?.Quarantine.Remaining ?? TimeSpan.Zero;

    /// <inheritdoc />
    public string? QuarantineDetail =>
        _shards?.Standing.Where(shard => shard.Remaining > TimeSpan.Zero).Select(shard => $"shard {shard.Shard} ({Math.Ceiling(shard.Remaining.TotalSeconds):0} s left)").ToArray() is { Length: > 0 } quarantined
            ? $"{string.Join(", ", quarantined)} restarted or lost its data, kept out of the vote for the slots it owns; the other shards vote"
            : null;

    /// <summary>
    /// One round trip for a health probe: PING, or, while the node is suspect after a dropped connection, the restart
    /// check the next granting script would run (so a restarted node shows its quarantine). A quarantine is not an
    /// error here: read <see cref="QuarantineRemaining"/> after.
    /// </summary>
    public async Task ProbeAsync()
    {
        if (!IsCluster && _watch is { Quarantine.IsSuspect: true } watch)
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

        if (IsCluster)
        {
            await PingEveryShardAsync().ConfigureAwait(false); // first: a dead shard is named (the others may then say CLUSTERDOWN)
            if (_shards is { } shards)
            {
                await shards.CheckSuspectsAsync().ConfigureAwait(false);
            }

            return;
        }

        await _database.PingAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// A cluster member's probe: a PING to every master, since each shard holds the locks of its slots; a shard that
    /// does not answer fails the probe, naming it (locks whose slots it owns cannot be taken through this member).
    /// </summary>
    private async Task PingEveryShardAsync()
    {
        var shards = Shards().ToArray();
        var pings = shards.Select(static server =>
        {
            try
            {
                return server.PingAsync();
            }
            catch (RedisException ex)
            {
                return Task.FromException<TimeSpan>(ex); // a disconnected server may refuse at once
            }
        }).ToArray();
        try
        {
            await Task.WhenAll(pings).ConfigureAwait(false);
        }
        catch (RedisException)
        {
            var down = Array.FindIndex(pings, ping => !ping.IsCompletedSuccessfully);
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"shard {FormatEndPoint(shards[down].EndPoint)} of {Name} did not answer: {pings[down].Exception?.InnerException?.Message}", pings[down].Exception?.InnerException, CommandStatus.Unknown);
        }
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
        _shards?.Dispose();
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
        var epoch = await watch.EpochToServeAsync(call.Recalls).ConfigureAwait(false);
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

        var epochChecked = call.WithEpoch(epochKey, epoch);
        return epochChecked.Script.SendAsync(_database, epochChecked);
    }
}
