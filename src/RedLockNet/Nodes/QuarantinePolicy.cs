using Microsoft.Extensions.Logging;

namespace RedLockNet.Nodes;

/// <summary>
/// A factory's restart-quarantine settings: the mode, and the period, which follows the longest expiry the factory
/// has acquired with unless the options fix it.
/// </summary>
internal sealed class QuarantinePolicy
{
    private readonly RedLockOptions _options;
    private long _longestExpiryTicks;

    public QuarantinePolicy(RedLockOptions options, ILogger logger)
    {
        _options = options;
        Logger = logger;
        _longestExpiryTicks = options.DefaultExpiry.Ticks;
    }

    public RestartQuarantineMode Mode => _options.RestartQuarantine;

    /// <summary>The key that holds each node's data epoch (identity.lua): the key prefix plus <c>epoch</c>, which no lock key can be (those have a brace after the prefix).</summary>
    public StackExchange.Redis.RedisKey EpochKey => _options.KeyPrefix + "epoch";

    public TimeProvider Time => _options.TimeProvider;

    public ILogger Logger { get; }

    /// <summary>How long after its start a restarted node stays out of the vote.</summary>
    public TimeSpan Period
    {
        get
        {
            if (_options.RestartQuarantinePeriod is { } fixedPeriod)
            {
                return fixedPeriod;
            }

            var longest = TimeSpan.FromTicks(Volatile.Read(ref _longestExpiryTicks));
            return longest + LockTiming.DriftFor(longest, _options);
        }
    }

    /// <summary>Remembers an expiry this factory acquired with, so the period covers it.</summary>
    public void NoteExpiry(TimeSpan expiry)
    {
        var ticks = expiry.Ticks;
        var seen = Volatile.Read(ref _longestExpiryTicks);
        while (ticks > seen)
        {
            var was = Interlocked.CompareExchange(ref _longestExpiryTicks, ticks, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }
}
