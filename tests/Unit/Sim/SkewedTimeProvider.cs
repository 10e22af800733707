namespace RedLockNet.Tests.Unit.Sim;

/// <summary>
/// A client's view of a shared fake clock: the same monotonic time and timers, a wall clock off by
/// <paramref name="skew"/>, or standing still when <paramref name="frozenWallClock"/> (so fencing floors never rise and
/// tokens come from the node counters alone).
/// </summary>
internal sealed class SkewedTimeProvider(TimeProvider inner, TimeSpan skew, bool frozenWallClock = false) : TimeProvider
{
    private readonly DateTimeOffset _frozen = inner.GetUtcNow() + skew;

    public override DateTimeOffset GetUtcNow() => frozenWallClock ? _frozen : inner.GetUtcNow() + skew;

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        inner.CreateTimer(callback, state, dueTime, period);
}
