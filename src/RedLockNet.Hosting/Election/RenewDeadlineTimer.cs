namespace RedLockNet.Hosting.Election;

/// <summary>
/// Ends a term with <see cref="LeadershipEndReason.RenewDeadlineExceeded"/> when no renewal was confirmed within the
/// renew deadline, measured from the start of the last confirmed renewal (or of the acquisition).
/// </summary>
internal sealed class RenewDeadlineTimer : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _deadline;
    private readonly ITimer _timer;

    /// <summary>Starts the timer for an acquisition that started at timestamp <paramref name="acquireStarted"/>.</summary>
    public RenewDeadlineTimer(TimeProvider time, TimeSpan deadline, long acquireStarted, TermEnding ending)
    {
        _time = time;
        _deadline = deadline;
        _timer = time.CreateTimer(
            static state => ((TermEnding)state!).End(LeadershipEndReason.RenewDeadlineExceeded), ending,
            Remaining(acquireStarted), Timeout.InfiniteTimeSpan);
    }

    /// <summary>A renewal that started at timestamp <paramref name="started"/> was confirmed: the deadline moves out.</summary>
    public void Renewed(long started) => _timer.Change(Remaining(started), Timeout.InfiniteTimeSpan);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _timer.DisposeAsync();

    /// <summary>Time left until the renew deadline of a renewal (or acquisition) that started at <paramref name="started"/>.</summary>
    private TimeSpan Remaining(long started)
    {
        var left = _deadline - _time.GetElapsedTime(started);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }
}
