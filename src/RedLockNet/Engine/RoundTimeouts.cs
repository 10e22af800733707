using RedLockNet.Timing;

namespace RedLockNet.Engine;

/// <summary>
/// The timeouts of every quorum round of one factory, on one timer armed for the earliest deadline: a round costs a
/// queue entry, not a timer of its own. The entry is a small <see cref="Ticket"/> that the round empties when it
/// finishes, so a finished round is garbage at once (thousands finish early every second under load; kept until
/// their deadline they would be promoted out of the youngest generation with everything they reference), and only
/// the empty ticket waits for its deadline to be dropped. The timer fires at most once per
/// <see cref="Granularity"/>, so a round may time out up to that much late; a stream of rounds does not wake it for
/// each one.
/// </summary>
internal sealed class RoundTimeouts : IDisposable
{
    /// <summary>The least pause between two firings of the timer.</summary>
    public static readonly TimeSpan Granularity = TimeSpan.FromMilliseconds(10);

    private readonly Lock _gate = new();
    private readonly PriorityQueue<Ticket, long> _queue = new();
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private bool _disposed;

    public RoundTimeouts(TimeProvider time)
    {
        Time = time;
        _timer = time.CreateTimer(static state => ((RoundTimeouts)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public TimeProvider Time { get; }

    /// <summary>Rounds waiting for their deadline (finished ones included until it passes).</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>
    /// Calls <see cref="QuorumRound.Expire"/> on <paramref name="round"/> once <paramref name="timeout"/> has passed,
    /// unless the round empties the returned ticket first.
    /// </summary>
    public Ticket Add(QuorumRound round, TimeSpan timeout)
    {
        var ticket = new Ticket(round);
        var deadline = Time.GetTimestamp() + Time.ToTimestampTicks(timeout);
        lock (_gate)
        {
            if (_disposed)
            {
                return ticket;
            }

            _queue.Enqueue(ticket, deadline);
            if (deadline < _armedFor)
            {
                Arm(deadline);
            }
        }

        return ticket;
    }

    /// <summary>
    /// Stops the timer and times out every round still waiting (its silent nodes count as failed), so that nothing
    /// awaiting a round of a disposed factory, a release under way for instance, waits forever.
    /// </summary>
    public void Dispose()
    {
        List<QuorumRound>? pending = null;
        lock (_gate)
        {
            _disposed = true;
            while (_queue.TryDequeue(out var ticket, out _))
            {
                if (ticket.Round is { IsFinished: false } round)
                {
                    (pending ??= []).Add(round);
                }
            }
        }

        _timer.Dispose();
        if (pending is not null)
        {
            foreach (var round in pending)
            {
                round.Expire();
            }
        }
    }

    private void OnTimer()
    {
        List<QuorumRound>? expired = null;
        lock (_gate)
        {
            _armedFor = long.MaxValue;
            var now = Time.GetTimestamp();
            while (_queue.TryPeek(out var ticket, out var deadline) && deadline <= now)
            {
                _queue.Dequeue();
                if (ticket.Round is { IsFinished: false } round)
                {
                    (expired ??= []).Add(round);
                }
            }

            if (!_disposed && _queue.TryPeek(out _, out var next))
            {
                Arm(Math.Max(next, now + Time.ToTimestampTicks(Granularity)));
            }
        }

        if (expired is not null)
        {
            foreach (var round in expired)
            {
                round.Expire();
            }
        }
    }

    /// <summary>Points the timer at <paramref name="deadline"/>. Under the lock.</summary>
    private void Arm(long deadline)
    {
        _armedFor = deadline;
        var now = Time.GetTimestamp();
        _timer.Change(deadline <= now ? TimeSpan.Zero : Time.GetElapsedTime(now, deadline), Timeout.InfiniteTimeSpan);
    }

    /// <summary>A round's place in the queue; the round clears it when it finishes.</summary>
    internal sealed class Ticket(QuorumRound round)
    {
        private QuorumRound? _round = round;

        public QuorumRound? Round => Volatile.Read(ref _round);

        /// <summary>The round finished: it need not be expired, and the queue must not keep it alive.</summary>
        public void Clear() => Volatile.Write(ref _round, null);
    }
}
