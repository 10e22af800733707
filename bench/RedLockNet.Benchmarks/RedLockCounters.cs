using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using RedLockNet.Diagnostics;

namespace RedLockNet.Benchmarks;

/// <summary>
/// Sums, while it lives, what RedLockNet's own counters report (<see cref="RedLockTelemetry.Meter"/>): the instruments
/// named at creation, every tag together. The meter is process-wide: one factory at a time should be measured.
/// </summary>
internal sealed class RedLockCounters : IDisposable
{
    private readonly ConcurrentDictionary<string, long> totals = new(StringComparer.Ordinal);
    private readonly MeterListener listener = new();

    /// <summary>Starts listening to the <see cref="long"/> counters named <paramref name="instruments"/> (<c>redlock.renewal.batches</c>...).</summary>
    public RedLockCounters(params string[] instruments)
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RedLockTelemetry.Name && instruments.Contains(instrument.Name))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => totals.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        listener.Start();
    }

    /// <summary>The sum so far of <paramref name="instrument"/>'s measurements (0 before the first).</summary>
    public long this[string instrument] => totals.GetValueOrDefault(instrument);

    public void Dispose() => listener.Dispose();
}
