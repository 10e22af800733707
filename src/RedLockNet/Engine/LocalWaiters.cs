namespace RedLockNet.Engine;

/// <summary>
/// The callers of one factory that wait for the same resource, in line: only the first of each line tries the
/// nodes, the others wait for their turn, and a release by this process wakes the first at once instead of leaving
/// it asleep in a back-off. So callers of one process are served in arrival order, and the caller that just released
/// cannot barge ahead of those already waiting. A resource has one line per kind of wait (<see cref="LineKind"/>): a
/// lock's waiters do not queue behind a reader-writer lock's of the same name, which neither excludes.
/// </summary>
internal sealed class LocalWaiters
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedList<Waiter>> _lines = new(StringComparer.Ordinal);
    private int _primitiveLines;

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
    public Waiter Join(string resource, LineKind kind = LineKind.Lock)
    {
        var waiter = new Waiter(LineOf(resource, kind)) { Kind = kind };
        lock (_gate)
        {
            if (!_lines.TryGetValue(waiter.Resource, out var line))
            {
                _lines[waiter.Resource] = line = new LinkedList<Waiter>();
                _primitiveLines += kind == LineKind.Lock ? 0 : 1;
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
                _primitiveLines -= waiter.Kind == LineKind.Lock ? 0 : 1;
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

    /// <summary>
    /// This process released something of <paramref name="resource"/> (a lock, a permit, a reader's or writer's hold):
    /// the first in each of its lines tries again now.
    /// </summary>
    public void Released(string resource)
    {
        Waiter? first, permit = null, readerWriter = null;
        lock (_gate)
        {
            first = _lines.TryGetValue(resource, out var line) ? line.First?.Value : null;
            if (_primitiveLines > 0)
            {
                permit = _lines.TryGetValue(LineOf(resource, LineKind.Semaphore), out line) ? line.First?.Value : null;
                readerWriter = _lines.TryGetValue(LineOf(resource, LineKind.ReaderWriter), out line) ? line.First?.Value : null;
            }
        }

        first?.Wake();
        permit?.Wake();
        readerWriter?.Wake();
    }

    /// <summary>
    /// Between a resource and its kind of line in a line's name. A resource name that contains it could share a line
    /// with another kind: its callers would take turns, which costs waiting, never exclusion.
    /// </summary>
    private const string Separator = "\u0000";

    private static string LineOf(string resource, LineKind kind) => kind switch
    {
        LineKind.Lock => resource,
        LineKind.Semaphore => resource + Separator + "semaphore",
        _ => resource + Separator + "reader-writer",
    };

    /// <summary>What the callers of a line wait for.</summary>
    internal enum LineKind
    {
        Lock,
        Semaphore,
        ReaderWriter,
    }

    /// <summary>One waiting caller.</summary>
    internal sealed class Waiter(string resource)
    {
        private readonly Lock _gate = new();
        private readonly TaskCompletionSource _turn = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource? _wake;
        private bool _wokenEarly;

        /// <summary>The line's name: the resource, and for a primitive its kind (see <see cref="LineOf"/>).</summary>
        public string Resource { get; } = resource;

        /// <summary>What this caller waits for.</summary>
        public LineKind Kind { get; init; }

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
