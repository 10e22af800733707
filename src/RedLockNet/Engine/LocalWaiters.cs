namespace RedLockNet.Engine;

/// <summary>
/// The callers of one factory that wait for the same resource, in line: only the first of each line tries the
/// nodes, the others wait for their turn, and a release by this process wakes the first at once instead of leaving
/// it asleep in a back-off. So callers of one process are served in arrival order, and the caller that just released
/// cannot barge ahead of those already waiting.
/// </summary>
internal sealed class LocalWaiters
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedList<Waiter>> _lines = new(StringComparer.Ordinal);

    /// <summary>Lines with someone in them (for tests).</summary>
    public int Lines
    {
        get
        {
            lock (_gate)
            {
                return _lines.Count;
            }
        }
    }

    /// <summary>Joins the line for <paramref name="resource"/>; <see cref="Waiter.Turn"/> completes when this caller is first.</summary>
    public Waiter Join(string resource)
    {
        var waiter = new Waiter(resource);
        lock (_gate)
        {
            if (!_lines.TryGetValue(resource, out var line))
            {
                _lines[resource] = line = new LinkedList<Waiter>();
            }

            waiter.Node = line.AddLast(waiter);
            if (line.Count == 1)
            {
                waiter.GiveTurn();
            }
        }

        return waiter;
    }

    /// <summary>Leaves the line (acquired, timed out or cancelled); when <paramref name="waiter"/> was first, the next one's turn begins.</summary>
    public void Leave(Waiter waiter)
    {
        Waiter? next = null;
        lock (_gate)
        {
            if (waiter.Node is not { List: { } line } node)
            {
                return;
            }

            var wasFirst = line.First == node;
            line.Remove(node);
            waiter.Node = null;
            if (line.Count == 0)
            {
                _lines.Remove(waiter.Resource);
            }
            else if (wasFirst)
            {
                next = line.First!.Value;
                next.LastAttempt ??= waiter.LastAttempt;
            }
        }

        next?.GiveTurn();
    }

    /// <summary>What the first of <paramref name="waiter"/>'s line last saw at the nodes; <see langword="null"/> before it tried.</summary>
    public AcquireAttempt? AttemptAhead(Waiter waiter)
    {
        lock (_gate)
        {
            return waiter.Node is { List: { } line } ? line.First?.Value.LastAttempt : null;
        }
    }

    /// <summary>This process released <paramref name="resource"/>: the first in its line tries again now.</summary>
    public void Released(string resource)
    {
        Waiter? first;
        lock (_gate)
        {
            first = _lines.TryGetValue(resource, out var line) ? line.First?.Value : null;
        }

        first?.Wake();
    }

    /// <summary>One waiting caller.</summary>
    internal sealed class Waiter(string resource)
    {
        private readonly Lock _gate = new();
        private readonly TaskCompletionSource _turn = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource? _wake;
        private bool _wokenEarly;

        public string Resource { get; } = resource;

        /// <summary>Completes when this caller is first in line.</summary>
        public Task Turn => _turn.Task;

        internal LinkedListNode<Waiter>? Node { get; set; }

        /// <summary>The last attempt made while this caller was first (or its predecessor's), for those behind it.</summary>
        internal AcquireAttempt? LastAttempt { get; set; }

        /// <summary>
        /// Waits <paramref name="pause"/>, or less when this process releases the resource meanwhile (also when that
        /// happened during the last attempt). Throws when <paramref name="cancellationToken"/> fires.
        /// </summary>
        public async Task PauseAsync(TimeSpan pause, TimeProvider time, CancellationToken cancellationToken)
        {
            TaskCompletionSource wake;
            lock (_gate)
            {
                if (_wokenEarly)
                {
                    _wokenEarly = false;
                    return;
                }

                wake = _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            using var nap = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(pause, time, nap.Token);
            await Task.WhenAny(wake.Task, delay).ConfigureAwait(false);
            nap.Cancel(); // stops the delay's timer when woken: its one callback is the delay's own, run here without a hop
            lock (_gate)
            {
                _wake = null;
            }

            cancellationToken.ThrowIfCancellationRequested();
        }

        internal void GiveTurn() => _turn.TrySetResult();

        internal void Wake()
        {
            lock (_gate)
            {
                if (_wake is { } wake)
                {
                    wake.TrySetResult();
                }
                else
                {
                    _wokenEarly = true; // mid-attempt: do not sleep after it
                }
            }
        }
    }
}
