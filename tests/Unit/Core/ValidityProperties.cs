using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RedLockNet.Timing;

namespace RedLockNet.Tests.Unit.Core;

public class ValidityProperties
{
    private static Arbitrary<(TimeSpan Ttl, double Factor, TimeSpan Elapsed)> Inputs() =>
        (from ttlMs in Gen.Choose(10, 86_400_000)
         from factorPermille in Gen.Choose(0, 499)
         from elapsedMs in Gen.Choose(0, 86_400_000)
         select (TimeSpan.FromMilliseconds(ttlMs), factorPermille / 1000.0, TimeSpan.FromMilliseconds(elapsedMs % (ttlMs * 2)))).ToArbitrary();

    [Property(MaxTest = 2000)]
    public Property Validity_is_ttl_minus_elapsed_minus_drift() =>
        Prop.ForAll(Inputs(), input =>
        {
            var options = new RedLockOptions { DriftFactor = input.Factor };
            var v = LockTiming.For(input.Ttl, options);
            var expectedDrift = TimeSpan.FromTicks((long)(input.Ttl.Ticks * input.Factor)) + TimeSpan.FromMilliseconds(2);
            return v.Drift == expectedDrift && v.ValidityAfter(input.Elapsed) == input.Ttl - input.Elapsed - expectedDrift;
        });

    [Property(MaxTest = 2000)]
    public Property A_lock_counts_only_with_at_least_the_minimum_validity_left() =>
        Prop.ForAll(Inputs(), input =>
        {
            var v = LockTiming.For(input.Ttl, new RedLockOptions { DriftFactor = input.Factor });
            var left = v.ValidityAfter(input.Elapsed);
            return v.IsEnoughAfter(input.Elapsed) == (left > TimeSpan.Zero && left >= v.MinValidity);
        });

    [Property(MaxTest = 1000)]
    public Property Budget_is_the_longest_acquisition_that_still_counts() =>
        Prop.ForAll(Inputs(), input =>
        {
            var v = LockTiming.For(input.Ttl, new RedLockOptions { DriftFactor = input.Factor });
            return v.AcquireBudget <= TimeSpan.Zero
                || (v.IsEnoughAfter(v.AcquireBudget) && !v.IsEnoughAfter(v.AcquireBudget + TimeSpan.FromTicks(1)));
        });

    [Fact]
    public void Default_minimum_is_a_tenth_of_the_expiry_and_an_option_overrides_it()
    {
        Assert.Equal(TimeSpan.FromSeconds(3), LockTiming.For(TimeSpan.FromSeconds(30), new RedLockOptions()).MinValidity);
        Assert.Equal(TimeSpan.FromMilliseconds(5),
            LockTiming.For(TimeSpan.FromSeconds(30), new RedLockOptions { MinValidity = TimeSpan.FromMilliseconds(5) }).MinValidity);
    }

    [Property(MaxTest = 2000)]
    public Property Retry_delays_stay_within_min_and_the_capped_exponential(PositiveInt minMs, PositiveInt extraMs, NonNegativeInt attempt, int seed)
    {
        var min = TimeSpan.FromMilliseconds(minMs.Get % 1000);
        var max = min + TimeSpan.FromMilliseconds(extraMs.Get % 5000);
        var delay = Backoff.FullJitter(min, max, attempt.Get, new Random(seed));
        var cap = Math.Min(max.Ticks, min.Ticks * Math.Pow(2, Math.Min(attempt.Get, 30)));
        return (delay >= min && delay.Ticks <= cap).ToProperty();
    }
}
