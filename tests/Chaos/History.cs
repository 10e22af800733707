namespace RedLockNet.Chaos;

/// <summary>A thread-safe, append-only record of what every client did (in-process and ChaosClient processes).</summary>
public sealed class History
{
    private readonly List<ChaosEvent> events = [];
    private readonly Lock gate = new();

    public void Add(ChaosEvent e)
    {
        lock (gate)
        {
            events.Add(e);
        }
    }

    public IReadOnlyList<ChaosEvent> Snapshot()
    {
        lock (gate)
        {
            return [.. events.OrderBy(e => e.T)];
        }
    }

    public int Count(string kind) => Snapshot().Count(e => e.Kind == kind);

    public int CountBetween(string kind, long from, long to) => Snapshot().Count(e => e.Kind == kind && e.T >= from && e.T <= to);
}
