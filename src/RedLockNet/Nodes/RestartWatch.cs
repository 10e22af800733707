using Microsoft.Extensions.Logging;
using RedLockNet.Diagnostics;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>
/// Watches one node for restarts and data loss: after its connection drops, or a call finds another epoch or no
/// scripts, the next script that could grant a lock or recall a record first reads the node's identity again (one
/// check at a time), and a node that lost its data is kept out of the vote (<see cref="RestartQuarantine"/>) until
/// the locks it forgot have expired, and out of each record until that record's retention has passed.
/// </summary>
internal sealed class RestartWatch : IDisposable
{
    private readonly IConnectionMultiplexer _multiplexer;
    private readonly IDatabase _database;
    private readonly string _node;
    private readonly QuarantinePolicy _policy;
    private readonly IServer? _shard;
    private readonly Lock _gate = new();
    private Task? _checking;

    /// <summary>
    /// Starts watching. <paramref name="baseline"/> is the identity read at connect (not a restart); null when the node
    /// did not answer then, so its first answer is checked like a restart. <paramref name="epochKey"/> is where the
    /// node's data epoch lives: the policy's key, or for one shard of a cluster its anchor key (<see cref="ShardWatches"/>),
    /// with <paramref name="shard"/> the server that INFO persistence is read from (a keyless call could reach another).
    /// </summary>
    public RestartWatch(IConnectionMultiplexer multiplexer, IDatabase database, string node, QuarantinePolicy policy, NodeIdentity? baseline, RedisKey? epochKey = null, IServer? shard = null)
    {
        _shard = shard;
        _multiplexer = multiplexer;
        _database = database;
        _node = node;
        _policy = policy;
        EpochKey = epochKey ?? policy.EpochKey;
        Quarantine = new RestartQuarantine(policy.Time);
        if (baseline is null)
        {
            Quarantine.Suspect();
        }
        else
        {
            Quarantine.Baseline(baseline.RunId, baseline.Epoch);
        }

        _multiplexer.ConnectionFailed += OnConnectionFailed;
    }

    /// <summary>The node's standing in the vote.</summary>
    public RestartQuarantine Quarantine { get; }

    /// <summary>The key of the node's data epoch.</summary>
    public RedisKey EpochKey { get; }

    /// <summary>
    /// Whether a granting script (<paramref name="recalls"/> zero), or one that recalls a record kept that long, may be
    /// sent now without a check first; <paramref name="epoch"/> is the data epoch it must carry, read together with that
    /// answer (<see cref="RestartQuarantine.MayServe"/>): null until read, and always with restart quarantine off
    /// (nothing would follow from a change, so the scripts are sent as they are).
    /// </summary>
    public bool MayServe(TimeSpan recalls, out string? epoch)
    {
        var clear = Quarantine.MayServe(recalls, out epoch);
        if (_policy.Mode == RestartQuarantineMode.Off)
        {
            epoch = null;
        }

        return clear;
    }

    /// <summary>
    /// A call failed: a granting script that found another epoch, or a node that no longer knows our scripts (its
    /// script cache is gone: a new process, or SCRIPT FLUSH), makes the node suspect, so it is checked before it grants again.
    /// </summary>
    public void Failed(Exception error)
    {
        if (EpochCheck.IsChanged(error) || LockScript.IsNoScript(error))
        {
            Quarantine.Suspect();
        }
    }

    /// <summary>Checks the node when suspect; throws <see cref="NodeQuarantinedException"/> while it is in quarantine.</summary>
    public Task EnsureMayGrantAsync() => EnsureMayServeAsync(TimeSpan.Zero);

    /// <summary>
    /// Checks the node when suspect; throws <see cref="NodeQuarantinedException"/> while it may not grant
    /// (<paramref name="recalls"/> zero) or answer for a record kept for <paramref name="recalls"/>.
    /// </summary>
    public async Task EnsureMayServeAsync(TimeSpan recalls)
    {
        if (Quarantine.IsSuspect)
        {
            Task check;
            lock (_gate)
            {
                if (_checking is null || _checking.IsCompleted)
                {
                    _checking = CheckAsync();
                }

                check = _checking;
            }

            await check.ConfigureAwait(false); // a failed check (node still down) is this call's failure
        }

        var remaining = Quarantine.RemainingFor(recalls);
        if (remaining > TimeSpan.Zero)
        {
            throw recalls > TimeSpan.Zero && Quarantine.Remaining == TimeSpan.Zero
                ? NodeQuarantinedException.ForRecords(_node, recalls, remaining)
                : new NodeQuarantinedException(_node, remaining);
        }
    }

    /// <summary>
    /// For a granting or recalling script the fast path (<see cref="MayServe"/>) held back: checks the node when suspect
    /// (<see cref="EnsureMayServeAsync"/>), then returns the epoch the script must carry. Throws a
    /// <see cref="RedisException"/> when the node became suspect again since the check (another call found a new epoch,
    /// or the connection dropped): this vote fails, and the next grant is checked again.
    /// </summary>
    public async Task<string?> EpochToServeAsync(TimeSpan recalls)
    {
        await EnsureMayServeAsync(recalls).ConfigureAwait(false);
        return MayServe(recalls, out var epoch)
            ? epoch
            : throw new RedisException($"{_node} became suspect again while it was being checked; it is checked again before it grants");
    }

    /// <summary>Stops watching (the multiplexer may belong to the caller and outlive us).</summary>
    public void Dispose() => _multiplexer.ConnectionFailed -= OnConnectionFailed;

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => Quarantine.Suspect();

    private static string Finding(bool restarted, bool lostData) =>
        !lostData ? "restarted without persistence (a new process)"
        : restarted ? "restarted and lost its data (a new process and a new epoch)"
        : "lost its data without restarting (a new epoch: FLUSHALL, eviction or a failover)";

    /// <summary>Reads the node's identity (and persistence, when it matters) and settles its standing.</summary>
    private async Task CheckAsync()
    {
        var read = new IdentityCall(EpochKey, NodeIdentity.NewEpochSuffix()).ToCall();
        var reply = await read.Script.EvaluateAsync(_database, read.Keys, read.Args).ConfigureAwait(false);
        var identity = NodeIdentity.FromReply(reply)
            ?? throw new RedisException("The identity read has no run_id or epoch; the node's restart state is unknown");
        var previous = Quarantine.RunId;
        var previousEpoch = Quarantine.Epoch;
        var persistent = false;
        if (identity.RunId != previous && identity.Epoch == previousEpoch && _policy.Mode == RestartQuarantineMode.WhenNotPersistent && identity.GarnetVersion is null)
        {
            var call = InfoCall.Persistence.ToCall();
            var persistence = _shard is { } shard
                ? await shard.ExecuteAsync("EVAL", InfoCall.Script.Text, 0, InfoCall.Persistence.Section).ConfigureAwait(false)
                : await call.Script.EvaluateAsync(_database, call.Keys, call.Args).ConfigureAwait(false);
            persistent = NodePersistence.AofEnabled(persistence.ToString()) == true;
        }

        var left = Quarantine.Checked(identity.RunId, identity.Uptime, persistent, _policy.Mode, _policy.Period, identity.Epoch, identity.EpochAge);
        var lostData = previousEpoch is not null && identity.Epoch != previousEpoch;
        if (left > TimeSpan.Zero)
        {
            RedLockTelemetry.RecordQuarantine();
            Log.NodeQuarantined(_policy.Logger, _node, Finding(identity.RunId != previous, lostData), (long)Math.Min(identity.Uptime.TotalSeconds, identity.EpochAge.TotalSeconds), (long)left.TotalMilliseconds);
        }
        else if ((identity.RunId != previous || lostData) && _policy.Logger.IsEnabled(LogLevel.Information))
        {
            var finding = _policy.Mode == RestartQuarantineMode.Off ? "a new process; restart quarantine is off"
                : lostData ? "it lost its data (new epoch), longer ago than the quarantine period"
                : persistent ? "a new process with persistence (aof_enabled:1) that kept its data epoch; it votes at once"
                : previous is null ? "first contact; it has been up longer than the quarantine period"
                : "a new process, up longer than the quarantine period";
            Log.NodeRechecked(_policy.Logger, _node, finding);
        }
    }
}
