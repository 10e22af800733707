using Microsoft.Extensions.Logging;

namespace RedLockNet.Hosting.Diagnostics;

/// <summary>
/// Source-generated log messages of leader election and the cron runner (event ids 100 and up). Reasons and outcomes
/// come in as their names, so this folder depends on neither the election nor the cron runner.
/// </summary>
internal static partial class HostingLog
{
    [LoggerMessage(100, LogLevel.Information, "{Identity} became leader of '{Group}' (epoch {Epoch})")]
    public static partial void StartedLeading(ILogger logger, string identity, string group, long epoch);

    [LoggerMessage(101, LogLevel.Warning, "{Identity} stopped leading '{Group}' (epoch {Epoch}): {Reason}")]
    public static partial void StoppedLeading(ILogger logger, string identity, string group, long epoch, string reason);

    [LoggerMessage(102, LogLevel.Information, "{Identity} released leadership of '{Group}' (epoch {Epoch})")]
    public static partial void ReleasedLeadership(ILogger logger, string identity, string group, long epoch);

    [LoggerMessage(103, LogLevel.Warning, "Campaign for '{Group}' could not reach a majority: {Message}")]
    public static partial void CampaignUnavailable(ILogger logger, string group, string message);

    [LoggerMessage(104, LogLevel.Warning, "Leader of '{Group}' could not confirm a renewal: {Message}")]
    public static partial void RenewalUnconfirmed(ILogger logger, string group, string message);

    [LoggerMessage(105, LogLevel.Error, "A leader-election callback for '{Group}' threw")]
    public static partial void CallbackFailed(ILogger logger, string group, Exception exception);

    [LoggerMessage(106, LogLevel.Information, "'{Group}' is led by {Leader}")]
    public static partial void NewLeader(ILogger logger, string group, string leader);

    [LoggerMessage(107, LogLevel.Warning, "Releasing leadership of '{Group}' failed; the lock expires with its lease")]
    public static partial void ReleaseFailed(ILogger logger, string group, Exception exception);

    [LoggerMessage(108, LogLevel.Warning, "The lock factory of election '{Group}' was disposed; the elector stops campaigning")]
    public static partial void FactoryDisposed(ILogger logger, string group);

    [LoggerMessage(110, LogLevel.Information, "Job '{Job}' tick {FireTime:O}: {Outcome} on {Replica} (epoch {Epoch}){Detail}")]
    public static partial void Tick(ILogger logger, string job, DateTimeOffset fireTime, string outcome, string replica, long epoch, string detail);

    [LoggerMessage(111, LogLevel.Error, "Job '{Job}' tick {FireTime:O} failed on {Replica} (epoch {Epoch})")]
    public static partial void JobFailed(ILogger logger, string job, DateTimeOffset fireTime, string replica, long epoch, Exception exception);

    [LoggerMessage(112, LogLevel.Warning, "Job '{Job}' tick {FireTime:O} was missed: {Outcome}{Detail}")]
    public static partial void TickMissed(ILogger logger, string job, DateTimeOffset fireTime, string outcome, string detail);

    [LoggerMessage(113, LogLevel.Error, "A TickSettled handler threw")]
    public static partial void TickHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(116, LogLevel.Error, "The cron tick observer {Observer} threw")]
    public static partial void TickObserverFailed(ILogger logger, string observer, Exception exception);

    [LoggerMessage(115, LogLevel.Error, "The schedule of job '{Job}' faulted; it restarts in {PauseSeconds:0.##} s")]
    public static partial void ScheduleFaulted(ILogger logger, string job, double pauseSeconds, Exception exception);

    [LoggerMessage(114, LogLevel.Warning, "Job '{Job}': {Count} ticks between {From:O} and {To:O} were past the misfire grace and are skipped")]
    public static partial void TicksPastGrace(ILogger logger, string job, int count, DateTimeOffset from, DateTimeOffset to);
}
