using Polly;
using Polly.Retry;
using RedLockNet.Timing;

namespace RedLockNet.Engine;

/// <summary>
/// The default wait between attempts at a busy lock: a Polly retry with full-jitter exponential delays
/// (<see cref="Backoff.FullJitter"/>). The wait timeout bounds it from outside.
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
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(Backoff.FullJitter(min, max, args.AttemptNumber)),
            })
            .Build();
    }
}
