using System.Collections.Concurrent;
using System.Net;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>
/// Restart quarantine for a Redlock member that is a Redis Cluster: a <see cref="RestartWatch"/> per shard (master), so
/// a shard that restarted empty or lost its data is out of the vote for the slots it owns, while the member's other
/// shards go on granting. A shard's data epoch lives in its anchor key (the epoch key of its lowest slot). A granting
/// script may touch one slot only, so it checks a copy of the epoch kept in its own slot's epoch key, which
/// slot_epoch.lua writes from the anchor atomically (Redis 7.0 or later), once per slot and epoch.
/// </summary>
internal sealed class ShardWatches : IDisposable
{
    private readonly IConnectionMultiplexer _multiplexer;
    private readonly IDatabase _database;
    private readonly QuarantinePolicy _policy;
    private readonly ConcurrentDictionary<string, Shard> _shards = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<EndPoint, Shard> _byEndPoint = new(); // the grant path's lookup, without formatting a name

    private ShardWatches(IConnectionMultiplexer multiplexer, IDatabase database, QuarantinePolicy policy)
    {
        _multiplexer = multiplexer;
        _database = database;
        _policy = policy;
    }

    /// <summary>
    /// Watches a member found to be a cluster only after connect (it did not answer then): each shard is watched from
    /// its first answer, as a node that did not answer at connect is (a restart is one that started after we began).
    /// </summary>
    public static ShardWatches FirstContact(IConnectionMultiplexer multiplexer, IDatabase database, QuarantinePolicy policy) => new(multiplexer, database, policy);

    /// <summary>Every shard known so far, by endpoint, with its time left in quarantine.</summary>
    public IEnumerable<(string Shard, TimeSpan Remaining)> Standing =>
        _shards.Values.Select(shard => (shard.Name, shard.Watch.Quarantine.Remaining));

    /// <summary>The longest time left in quarantine over the shards: zero when every shard may grant.</summary>
    public TimeSpan QuarantineRemaining => _shards.Values.Select(shard => shard.Watch.Quarantine.Remaining).DefaultIfEmpty(TimeSpan.Zero).Max();

    /// <summary>The key in <paramref name="slot"/> that holds its shard's epoch: the policy's epoch key with the slot's hash tag.</summary>
    public static RedisKey SlotKey(QuarantinePolicy policy, int slot) => policy.EpochKey.Append("{" + KeySlots.TagFor(slot) + "}");

    /// <summary>
    /// Reads every shard's identity (its anchor key's epoch, started when absent) as the member's baseline, for the
    /// independence check and, with <paramref name="watch"/>, for watching: each answering shard's slot is marked with
    /// its epoch once, which a server older than Redis 7.0 refuses (a <see cref="RedLockConfigurationException"/>: it
    /// cannot keep a shard's epoch per slot). A shard that does not answer is watched from its first answer.
    /// </summary>
    /// <returns>The watches (null without <paramref name="watch"/>) and each shard's identity, null where a shard did not answer.</returns>
    public static async Task<(ShardWatches? Watches, IReadOnlyList<(string Shard, NodeIdentity? Identity)> Identities)> StartAsync(
        IConnectionMultiplexer multiplexer, IDatabase database, string member, QuarantinePolicy policy, bool watch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var watches = new ShardWatches(multiplexer, database, policy);
        var masters = watches.Masters();
        var reads = masters.Select(master => watches.ReadIdentityAsync(master.Anchor, timeout)).ToArray();
        var identities = await Task.WhenAll(reads).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!watch)
        {
            return (null, [.. masters.Select((master, i) => (master.Name, identities[i]))]);
        }

        for (var i = 0; i < masters.Length; i++)
        {
            var shard = watches.Add(masters[i].Name, masters[i].Anchor, identities[i]);
            if (identities[i]?.Epoch is { } epoch)
            {
                await shard.MarkAnchorAsync(watches, member, epoch, timeout, cancellationToken).ConfigureAwait(false);
            }
        }

        return (watches, [.. masters.Select((master, i) => (master.Name, identities[i]))]);
    }

    /// <summary>
    /// Runs a granting or recalling script on the shard that owns its keys' slot: after that shard's restart check when
    /// it is suspect, refused while it is in quarantine, with the slot's epoch key and the shard's epoch appended (the
    /// slot marked first when this client has not marked it in this epoch). An epoch error makes the shard suspect.
    /// </summary>
    public async Task<RedisResult> RunAsync(ScriptCall call)
    {
        var key = call.Keys[0];
        var slot = KeySlots.Of(key);
        var shard = For(_multiplexer.GetServer(key));
        try
        {
            // (restart quarantine is on here, so a shard that answered a check has an epoch)
            var epoch = await shard.Watch.EpochToServeAsync(call.Recalls).ConfigureAwait(false)
                ?? throw new RedisException($"Shard {shard.Name} has no data epoch read yet; it is checked before it grants");

            var slotKey = SlotKey(_policy, slot);
            if (!shard.IsMarked(slot, epoch))
            {
                var mark = new SlotEpochCall(slotKey, shard.Anchor, epoch).ToCall();
                await mark.Script.EvaluateAsync(_database, mark.Keys, mark.Args).ConfigureAwait(false);
                shard.Marked(slot, epoch);
            }

            var epochChecked = call.WithEpoch(slotKey, epoch);
            return await epochChecked.Script.SendAsync(_database, epochChecked).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (EpochCheck.IsChanged(ex) || LockScript.IsNoScript(ex))
        {
            shard.Unmark(slot);
            shard.Watch.Failed(ex);
            throw;
        }
    }

    /// <summary>For a health probe: checks every suspect shard (a restarted one then shows its quarantine), one round trip each.</summary>
    public async Task CheckSuspectsAsync()
    {
        foreach (var shard in _shards.Values.Where(shard => shard.Watch.Quarantine.IsSuspect).ToArray())
        {
            try
            {
                await shard.Watch.EnsureMayGrantAsync().ConfigureAwait(false);
            }
            catch (NodeQuarantinedException)
            {
                // it answered; the quarantine is reported, not thrown
            }
        }
    }

    /// <summary>Stops watching every shard.</summary>
    public void Dispose()
    {
        foreach (var shard in _shards.Values)
        {
            shard.Watch.Dispose();
        }
    }

    /// <summary>The cluster's masters as its configuration says, each with the anchor key of its lowest slot.</summary>
    /// <summary>The cluster's configuration (CLUSTER NODES) as a connected server of <paramref name="multiplexer"/> last gave it; null when none is connected.</summary>
    public static ClusterConfiguration? ConfigurationOf(IConnectionMultiplexer multiplexer) =>
        multiplexer.GetServers().Where(server => server.IsConnected).Select(server => server.ClusterConfiguration).FirstOrDefault(config => config is not null);

    private (string Name, RedisKey Anchor)[] Masters()
    {
        var configuration = ConfigurationOf(_multiplexer)
            ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "No server of the cluster member answered with the cluster's configuration", null, CommandStatus.Unknown);
        return [.. configuration.Nodes
            .Where(node => !node.IsReplica && node.EndPoint is not null && node.Slots.Count > 0)
            .Select(node => (RedisLockNode.FormatEndPoint(node.EndPoint!), SlotKey(_policy, node.Slots.Min(range => range.From))))];
    }

    /// <summary>The watch of the shard <paramref name="server"/>, started (as first contact) when it is a master not seen before.</summary>
    private Shard For(IServer server)
    {
        if (_byEndPoint.TryGetValue(server.EndPoint, out var known))
        {
            return known;
        }

        var name = RedisLockNode.FormatEndPoint(server.EndPoint);
        if (_shards.TryGetValue(name, out var shard))
        {
            return _byEndPoint[server.EndPoint] = shard;
        }

        var master = Array.Find(Masters(), master => master.Name == name);
        if (master.Name is null)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"Shard {name} is not a master that owns slots in the cluster's configuration", null, CommandStatus.Unknown);
        }

        return Add(name, master.Anchor, baseline: null);
    }

    private Shard Add(string name, RedisKey anchor, NodeIdentity? baseline) =>
        _shards.GetOrAdd(name, static (name, state) => new Shard(
            name, state.anchor, new RestartWatch(state.self._multiplexer, state.self._database, name, state.self._policy, state.baseline, state.anchor, state.self.ServerNamed(name))),
            (self: this, anchor, baseline));

    private IServer? ServerNamed(string name) =>
        _multiplexer.GetServers().FirstOrDefault(server => RedisLockNode.FormatEndPoint(server.EndPoint) == name);

    private async Task<NodeIdentity?> ReadIdentityAsync(RedisKey anchor, TimeSpan timeout)
    {
        try
        {
            var read = new IdentityCall(anchor, NodeIdentity.NewEpochSuffix()).ToCall();
            var reply = await NodeCalls.Observed(read.Script.EvaluateAsync(_database, read.Keys, read.Args)).WaitAsync(timeout, _policy.Time).ConfigureAwait(false);
            return NodeIdentity.FromReply(reply);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>One shard: its restart watch, its anchor key, and the slots this client has marked with its epoch.</summary>
    private sealed class Shard(string name, RedisKey anchor, RestartWatch watch)
    {
        private readonly Lock _gate = new();
        private readonly HashSet<int> _marked = [];
        private string? _markedEpoch;

        public string Name { get; } = name;

        public RedisKey Anchor { get; } = anchor;

        public RestartWatch Watch { get; } = watch;

        public bool IsMarked(int slot, string epoch)
        {
            lock (_gate)
            {
                return _markedEpoch == epoch && _marked.Contains(slot);
            }
        }

        public void Marked(int slot, string epoch)
        {
            lock (_gate)
            {
                if (_markedEpoch != epoch)
                {
                    _marked.Clear();
                    _markedEpoch = epoch;
                }

                _marked.Add(slot);
            }
        }

        public void Unmark(int slot)
        {
            lock (_gate)
            {
                _marked.Remove(slot);
            }
        }

        /// <summary>Marks the anchor's own slot at connect: the one place a server that cannot run slot_epoch.lua is found out.</summary>
        public async Task MarkAnchorAsync(ShardWatches owner, string member, string epoch, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var slot = KeySlots.Of(Anchor);
            var mark = new SlotEpochCall(Anchor, Anchor, epoch).ToCall();
            try
            {
                await NodeCalls.Observed(mark.Script.EvaluateAsync(owner._database, mark.Keys, mark.Args)).WaitAsync(timeout, owner._policy.Time, cancellationToken).ConfigureAwait(false);
                Marked(slot, epoch);
            }
            catch (RedisServerException ex) when (!EpochCheck.IsChanged(ex))
            {
                throw new RedLockConfigurationException(
                    $"Shard {Name} of cluster member {member} cannot keep its data epoch per hash slot ({ex.Message}); restart quarantine on a Redis Cluster needs Redis 7.0 or later (script flags). Upgrade, or set RestartQuarantine = Off for this factory, knowing that a shard restarted empty can then let a second holder in.");
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // the shard is slow or down, or lost its data just now: its slots are marked when first used
            }
        }
    }
}
