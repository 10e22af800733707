using Polly;
using Polly.Retry;

namespace RedLockNet.Engine;

/// <summary>
/// The default wait between attempts at a busy lock: a Polly retry with full-jitter exponential delays,
/// uniform in [min, min(max, min x 2^attempt)], so contenders spread out instead of retrying in step.
/// The wait timeout bounds it from outside.
/// </summary>
internal static class ContentionRetry
{
    public static ResiliencePipeline<AcquireAttempt> CreateDefault(RedLockOptions options)
    {
        var min = options.MinRetryDelay;
        var max = options.MaxRetryDelay;
        return new ResiliencePipelineBuilder<AcquireAttempt> { TimeProvider = options.TimeProvider }
            .AddRetry(new RetryStrategyOptions<AcquireAttempt>
            {
                Name = "redlock-contention",
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Result is { Outcome: not AcquireOutcome.Acquired }),
                MaxRetryAttempts = int.MaxValue,
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(FullJitter(min, max, args.AttemptNumber, Random.Shared)),
            })
            .Build();
    }

    /// <summary>A delay uniform in [min, min(max, min x 2^attempt)].</summary>
    public static TimeSpan FullJitter(TimeSpan min, TimeSpan max, int attempt, Random random)
    {
        var ceiling = min.Ticks * Math.Pow(2, Math.Clamp(attempt, 0, 30));
        var upper = Math.Min(max.Ticks, ceiling);
        return TimeSpan.FromTicks(min.Ticks + (long)(random.NextDouble() * (upper - min.Ticks)));
    }
}
