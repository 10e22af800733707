using System.Net;
using Microsoft.Extensions.Logging;
using RedLockNet.Diagnostics;
using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>
/// One Redis node reached through its own multiplexer. Once guarded, it keeps a node that restarted without
/// persistence out of the vote (<see cref="RestartQuarantine"/>): after its connection drops, the next script that
/// could grant a lock first reads the node's identity again.
/// </summary>
internal sealed class RedisLockNode : ILockNode
{
    private readonly IConnectionMultiplexer _multiplexer;
    private readonly IDatabase _database;
    private readonly Lock _gate = new();
    private RestartQuarantine? _quarantine;
    private QuarantinePolicy? _policy;
    private Task? _checking;

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

    /// <summary>The node's quarantine state once guarded; null before.</summary>
    internal RestartQuarantine? Quarantine => _quarantine;

    /// <summary>
    /// Starts watching for restarts. <paramref name="baselineRunId"/> is the process read at connect (not a restart);
    /// null when the node did not answer then, so its first answer is checked like a restart.
    /// </summary>
    public void Guard(QuarantinePolicy policy, string? baselineRunId)
    {
        var quarantine = new RestartQuarantine(policy.Time);
        if (baselineRunId is null)
        {
            quarantine.ConnectionLost();
        }
        else
        {
            quarantine.Baseline(baselineRunId);
        }

        _policy = policy;
        _quarantine = quarantine;
        _multiplexer.ConnectionFailed += OnConnectionFailed;
    }

    /// <summary>Stops watching (the multiplexer may belong to the caller and outlive us).</summary>
    public void Unguard() => _multiplexer.ConnectionFailed -= OnConnectionFailed;

    /// <inheritdoc />
    public Task<RedisResult> RunAsync(LockScript script, RedisKey[] keys, RedisValue[] args)
    {
        if (script.GrantsLocks && _quarantine is { } quarantine && (quarantine.IsSuspect || quarantine.Remaining > TimeSpan.Zero))
        {
            return GuardedAsync(quarantine, script, keys, args);
        }

        return script.EvaluateAsync(_database, keys, args);
    }

    internal static string FormatEndPoint(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        IPEndPoint ip => ip.ToString(),
        _ => endpoint.ToString() ?? "?",
    };

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => _quarantine?.ConnectionLost();

    private async Task<RedisResult> GuardedAsync(RestartQuarantine quarantine, LockScript script, RedisKey[] keys, RedisValue[] args)
    {
        if (quarantine.IsSuspect)
        {
            Task check;
            lock (_gate)
            {
                if (_checking is null || _checking.IsCompleted)
                {
                    _checking = CheckAsync(quarantine);
                }

                check = _checking;
            }

            await check.ConfigureAwait(false); // a failed check (node still down) is this call's failure
        }

        var remaining = quarantine.Remaining;
        if (remaining > TimeSpan.Zero)
        {
            throw new NodeQuarantinedException(Name, remaining);
        }

        return await script.EvaluateAsync(_database, keys, args).ConfigureAwait(false);
    }

    /// <summary>Reads the node's identity (and persistence, when it matters) and settles its standing.</summary>
    private async Task CheckAsync(RestartQuarantine quarantine)
    {
        var policy = _policy!;
        var info = await LockScript.Info.EvaluateAsync(_database, [], ["server"]).ConfigureAwait(false);
        var identity = NodeIdentity.Parse(info.ToString())
            ?? throw new RedisException("INFO server has no run_id; the node's restart state is unknown");
        var previous = quarantine.RunId;
        var persistent = false;
        if (identity.RunId != previous && policy.Mode == RestartQuarantineMode.WhenNotPersistent && identity.GarnetVersion is null)
        {
            var persistence = await LockScript.Info.EvaluateAsync(_database, [], ["persistence"]).ConfigureAwait(false);
            persistent = persistence.ToString().Contains("aof_enabled:1", StringComparison.Ordinal);
        }

        var left = quarantine.Checked(identity.RunId, identity.Uptime, persistent, policy.Mode, policy.Period);
        if (left > TimeSpan.Zero)
        {
            RedLockTelemetry.RecordQuarantine();
            Log.NodeQuarantined(policy.Logger, Name, (long)identity.Uptime.TotalSeconds, (long)left.TotalMilliseconds);
        }
        else if (identity.RunId != previous && policy.Logger.IsEnabled(LogLevel.Information))
        {
            var finding = policy.Mode == RestartQuarantineMode.Off ? "a new process; restart quarantine is off"
                : persistent ? "a new process with persistence (aof_enabled:1); it votes at once"
                : previous is null ? "first contact; it has been up longer than the quarantine period"
                : "a new process, up longer than the quarantine period";
            Log.NodeRechecked(policy.Logger, Name, finding);
        }
    }
}
