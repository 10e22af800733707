using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using RedLockNet.Diagnostics;

namespace RedLockNet.Tests.Unit.Security;

/// <summary>
/// Every measurement (instrument and tags) and every finished activity (name, tags, events and their tags, status)
/// of the RedLockNet meter and activity source while it lives, as text, so a test can search what telemetry carries.
/// The listeners are process-wide: other tests running meanwhile add their own, which is harmless for a search.
/// </summary>
internal sealed class TelemetryCapture : IDisposable
{
    private readonly MeterListener _meters = new();
    private readonly ActivityListener _activities;

    public TelemetryCapture()
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == RedLockTelemetry.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Measured(instrument, value, tags));
        _meters.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Measured(instrument, value, tags));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Measured(instrument, value, tags));
        _meters.Start();
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RedLockTelemetry.Name,
            Sample = (ref _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Stopped,
        };
        ActivitySource.AddActivityListener(_activities);
    }

    public ConcurrentQueue<string> Measurements { get; } = new();

    public ConcurrentQueue<string> Activities { get; } = new();

    public void Dispose()
    {
        _meters.Dispose();
        _activities.Dispose();
    }

    private void Measured<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        Measurements.Enqueue($"{instrument.Name}={value} {Describe(tags.ToArray())}");

    private void Stopped(Activity activity)
    {
        var events = activity.Events.Select(e => $"event {e.Name} {Describe(e.Tags)}");
        var links = activity.Links.Select(l => $"link {Describe(l.Tags ?? [])}");
        Activities.Enqueue(string.Join(
            " | ",
            [
                $"{activity.OperationName} ({activity.DisplayName}) {activity.Status} {activity.StatusDescription}",
                Describe(activity.TagObjects), Describe(activity.Baggage.Select(b => new KeyValuePair<string, object?>(b.Key, b.Value))),
                .. events, .. links,
            ]));
    }

    private static string Describe(IEnumerable<KeyValuePair<string, object?>> tags) =>
        string.Join(", ", tags.Select(tag => $"{tag.Key}={tag.Value}"));
}
