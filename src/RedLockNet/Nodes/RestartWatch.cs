using Microsoft.Extensions.Logging;
using RedLockNet.Diagnostics;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>
/// Watches one node for restarts: after its connection drops, the next script that could grant a lock first reads
/// the node's identity again (one check at a time), and a node that came back as a new process without persistence
/// is kept out of the vote (<see cref="RestartQuarantine"/>) until the locks it forgot have expired.
/// </summary>
internal sealed class RestartWatch : IDisposable
{
    private readonly IConnectionMultiplexer _multiplexer;
    private readonly IDatabase _database;
    private readonly string _node;
    private readonly QuarantinePolicy _policy;
    private readonly Lock _gate = new();
    private Task? _checking;

    /// <summary>Starts watching. <paramref name="baselineRunId"/> is the process read at connect (not a restart); null when the node did not answer then, so its first answer is checked like a restart.</summary>
    public RestartWatch(IConnectionMultiplexer multiplexer, IDatabase database, string node, QuarantinePolicy policy, string? baselineRunId)
    {
        _multiplexer = multiplexer;
        _database = database;
        _node = node;
        _policy = policy;
        Quarantine = new RestartQuarantine(policy.Time);
        if (baselineRunId is null)
        {
            Quarantine.ConnectionLost();
        }
        else
        {
            Quarantine.Baseline(baselineRunId);
        }

        _multiplexer.ConnectionFailed += OnConnectionFailed;
    }

    /// <summary>The node's standing in the vote.</summary>
    public RestartQuarantine Quarantine { get; }

    /// <summary>Whether a granting script must wait for a check or be refused now.</summary>
    public bool NeedsAttention => Quarantine.IsSuspect || Quarantine.Remaining > TimeSpan.Zero;

    /// <summary>Checks the node when suspect; throws <see cref="NodeQuarantinedException"/> while it is in quarantine.</summary>
    public async Task EnsureMayGrantAsync()
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

        var remaining = Quarantine.Remaining;
        if (remaining > TimeSpan.Zero)
        {
            throw new NodeQuarantinedException(_node, remaining);
        }
    }

    /// <summary>Stops watching (the multiplexer may belong to the caller and outlive us).</summary>
    public void Dispose() => _multiplexer.ConnectionFailed -= OnConnectionFailed;

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => Quarantine.ConnectionLost();

    /// <summary>Reads the node's identity (and persistence, when it matters) and settles its standing.</summary>
    private async Task CheckAsync()
    {
        var server = InfoCall.Server.ToCall();
        var info = await server.Script.EvaluateAsync(_database, server.Keys, server.Args).ConfigureAwait(false);
        var identity = NodeIdentity.Parse(info.ToString())
            ?? throw new RedisException("INFO server has no run_id; the node's restart state is unknown");
        var previous = Quarantine.RunId;
        var persistent = false;
        if (identity.RunId != previous && _policy.Mode == RestartQuarantineMode.WhenNotPersistent && identity.GarnetVersion is null)
        {
            var call = InfoCall.Persistence.ToCall();
            var persistence = await call.Script.EvaluateAsync(_database, call.Keys, call.Args).ConfigureAwait(false);
            persistent = NodePersistence.AofEnabled(persistence.ToString()) == true;
        }

        var left = Quarantine.Checked(identity.RunId, identity.Uptime, persistent, _policy.Mode, _policy.Period);
        if (left > TimeSpan.Zero)
        {
            RedLockTelemetry.RecordQuarantine();
            Log.NodeQuarantined(_policy.Logger, _node, (long)identity.Uptime.TotalSeconds, (long)left.TotalMilliseconds);
        }
        else if (identity.RunId != previous && _policy.Logger.IsEnabled(LogLevel.Information))
        {
            var finding = _policy.Mode == RestartQuarantineMode.Off ? "a new process; restart quarantine is off"
                : persistent ? "a new process with persistence (aof_enabled:1); it votes at once"
                : previous is null ? "first contact; it has been up longer than the quarantine period"
                : "a new process, up longer than the quarantine period";
            Log.NodeRechecked(_policy.Logger, _node, finding);
        }
    }
}
