namespace Webhooks;

/// <summary>
/// The handler's side effect: where a real service charges a card or writes an order, this sample appends to a ledger.
/// Injectable, so a test can count entries or hold a delivery in progress.
/// </summary>
public interface ILedger
{
    /// <summary>Every entry so far, oldest first.</summary>
    IReadOnlyList<LedgerEntry> Entries { get; }

    /// <summary>Appends an entry for one event and returns it.</summary>
    Task<LedgerEntry> AppendAsync(string provider, string eventId, string processedBy, long fencingToken, CancellationToken cancellationToken);
}

/// <summary>One processed event.</summary>
/// <param name="Sequence">Position in the ledger, from 1.</param>
/// <param name="Provider">The provider from the URL.</param>
/// <param name="EventId">The provider's event id.</param>
/// <param name="ProcessedBy">The instance that ran the handler.</param>
/// <param name="FencingToken">The processing lock's fencing token: a store that keeps the highest one seen can refuse a stale writer.</param>
/// <param name="At">When the entry was made.</param>
public sealed record LedgerEntry(long Sequence, string Provider, string EventId, string ProcessedBy, long FencingToken, DateTimeOffset At);

/// <summary>The ledger of one process (a real service's would be a database every replica shares).</summary>
public sealed class InMemoryLedger : ILedger
{
    private readonly Lock _gate = new();
    private readonly List<LedgerEntry> _entries = [];

    /// <inheritdoc />
    public IReadOnlyList<LedgerEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    /// <inheritdoc />
    public Task<LedgerEntry> AppendAsync(string provider, string eventId, string processedBy, long fencingToken, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var entry = new LedgerEntry(_entries.Count + 1, provider, eventId, processedBy, fencingToken, DateTimeOffset.UtcNow);
            _entries.Add(entry);
            return Task.FromResult(entry);
        }
    }
}
