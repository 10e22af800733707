using Microsoft.Extensions.Logging;
using RedLockNet.Hosting.Diagnostics;

namespace RedLockNet.Hosting.Election;

/// <summary>What the terms of one elector share with it: its settings, identity, clock, records and logger.</summary>
/// <param name="Options">The elector's validated copy of its options.</param>
/// <param name="Identity">This replica's identity.</param>
/// <param name="Records">Where the leader record is written.</param>
/// <param name="Time">The factory's clock.</param>
/// <param name="Logger">The elector's logger.</param>
/// <param name="LeaderSeen">Reports the leader this replica observed (itself, once it wrote its record).</param>
internal sealed record ElectorContext(
    LeaderElectionOptions Options, string Identity, ILockRecords Records, TimeProvider Time, ILogger Logger, Action<string> LeaderSeen)
{
    /// <summary>Calls a user callback, logging (never passing on) what it throws.</summary>
    public void Invoke<T>(Action<T>? callback, T argument)
    {
        try
        {
            callback?.Invoke(argument);
        }
        catch (Exception ex)
        {
            HostingLog.CallbackFailed(Logger, Options.Group, ex);
        }
    }
}
