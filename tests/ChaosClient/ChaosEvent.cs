using System.Diagnostics;

namespace RedLockNet.Chaos;

/// <summary>
/// One step of a chaos client, timed with <see cref="Stopwatch.GetTimestamp"/> (CLOCK_MONOTONIC on Linux, comparable
/// across processes of one machine). Kinds: acquired, valid, holding, read, write-ok, write-refused, released, lost, hang,
/// acquire-failed, error, ready, done.
/// </summary>
/// <param name="Client">Who acted.</param>
/// <param name="Kind">What happened.</param>
/// <param name="T">When it was recorded (for released: just before the release was sent).</param>
/// <param name="Op">The client's operation number.</param>
/// <param name="T0">When the step started (acquire or write start), 0 when not applicable.</param>
/// <param name="Token">The fencing token of the acquisition (0 without fencing).</param>
/// <param name="Value">The value read or written.</param>
/// <param name="ValidUntil">For acquired: the validity deadline (timestamp).</param>
/// <param name="Error">The exception type for errors.</param>
public sealed record ChaosEvent(
    string Client,
    string Kind,
    long T,
    int Op = 0,
    long T0 = 0,
    long Token = 0,
    long Value = 0,
    long ValidUntil = 0,
    string? Error = null)
{
    /// <summary>Now, on the shared monotonic clock.</summary>
    public static long Now => Stopwatch.GetTimestamp();

    /// <summary>A duration in timestamp ticks.</summary>
    public static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>Timestamp ticks as milliseconds.</summary>
    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
