namespace RedLockNet.Tests.Unit.Sim;

/// <summary>
/// A node's clock that runs <paramref name="rate"/> faster (or slower, when negative) than the shared fake clock, so
/// its keys expire a little early (or late) in the clients' time. Only timestamps drift: nodes use no timers.
/// </summary>
internal sealed class DriftingTimeProvider(TimeProvider inner, double rate) : TimeProvider
{
    private readonly long _origin = inner.GetTimestamp();

    public override long GetTimestamp() => _origin + (long)((inner.GetTimestamp() - _origin) * (1 + rate));

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();
}
