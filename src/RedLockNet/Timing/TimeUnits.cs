using RedLockNet.Timing;
namespace RedLockNet.Timing;

/// <summary>The two conversions every timing decision needs: spans to monotonic timestamp ticks, and to Redis milliseconds.</summary>
internal static class TimeUnits
{
    /// <summary><paramref name="span"/> in the units of <see cref="TimeProvider.GetTimestamp"/>.</summary>
    public static long ToTimestampTicks(this TimeProvider time, TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    /// <summary><paramref name="span"/> as whole milliseconds for <c>PX</c>/<c>PEXPIRE</c>, rounded up so a key never lives shorter than asked.</summary>
    public static long ToRedisMilliseconds(TimeSpan span) => (long)Math.Ceiling(span.TotalMilliseconds);
}
