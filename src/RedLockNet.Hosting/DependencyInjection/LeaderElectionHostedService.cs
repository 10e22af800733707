using Microsoft.Extensions.Hosting;
using RedLockNet.Hosting.Election;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>
/// Runs one <c>AddLeaderElection</c> registration: campaigns in its group for the host's lifetime and runs the work
/// (the options' leading callback) for each term won; stopping cancels the work, waits for it and releases leadership.
/// Bad election options (checked against the connected factory) fail the host's start.
/// </summary>
internal sealed class LeaderElectionHostedService(RedLockConnection connection, LeaderElectionOptions options) : BackgroundService
{
    private LeaderElector? _elector;

    /// <summary>The elector, once the host has started it.</summary>
    public LeaderElector? Elector => Volatile.Read(ref _elector);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var factory = await connection.GetFactoryAsync(stoppingToken).ConfigureAwait(false);
        var elector = new LeaderElector(factory, options);
        Volatile.Write(ref _elector, elector);
        await elector.RunAsync(stoppingToken).ConfigureAwait(false);
    }
}
