namespace RedLockNet.Chaos;

/// <summary>
/// Controls for checkers that no node scenario can be made to trip on purpose: each shows that its checker does find
/// the violation it looks for. No nodes involved.
/// </summary>
public sealed class CheckerControls
{
    [Fact]
    public async Task A_worker_whose_acquire_never_returns_is_reported_as_a_hang()
    {
        var history = new History();
        var worker = new ChaosWorker("stuck", new NeverAnswers(), null!, "control:hang", "control:hang:counter", TimeSpan.FromSeconds(1),
            fencing: true, TimeSpan.Zero, TimeSpan.FromMilliseconds(100), history.Add)
        { OpBound = TimeSpan.FromMilliseconds(300) };

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => Bounded.Within(worker.RunAsync(5, TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken), TimeSpan.FromSeconds(10), "the control worker"));
        Assert.Contains("stuck op 0", ex.Message);
        Assert.Single(Checkers.Hangs(history.Snapshot()));
    }

    [Fact]
    public void The_semaphore_checker_finds_three_holders_of_two_permits_and_passes_holders_that_take_turns()
    {
        var crowded = Holds(("a", 0, 100, 0), ("b", 50, 150, 0), ("c", 90, 200, 0));
        var turns = Holds(("a", 0, 100, 0), ("b", 50, 150, 0), ("c", 100, 200, 0)); // c starts as a ends

        Assert.Equal("semaphore: 3 holders of 2 permits at once (a#0, b#0, c#0)", Assert.Single(Checkers.MostAtOnce(crowded, 2)));
        Assert.Empty(Checkers.MostAtOnce(turns, 2));
    }

    [Fact]
    public void The_reader_writer_checker_finds_a_writer_beside_a_reader_and_passes_readers_together()
    {
        var writerBesideReader = Holds(("r", 0, 100, 0), ("w", 80, 150, 1));
        var readersThenWriter = Holds(("r1", 0, 100, 0), ("r2", 20, 120, 0), ("w", 120, 200, 1));

        Assert.StartsWith("reader-writer: writer w#0 overlaps reader r#0", Assert.Single(Checkers.WriterAlone(writerBesideReader)));
        Assert.Empty(Checkers.WriterAlone(readersThenWriter));
    }

    /// <summary>A history of holds (client, start, end, kind: 1 a writer), each acquired, valid and released, in timestamp ticks.</summary>
    private static List<ChaosEvent> Holds(params (string Client, long Start, long End, long Kind)[] holds) =>
    [
        .. holds.SelectMany(h => new[]
        {
            new ChaosEvent(h.Client, "acquired", h.Start, T0: h.Start, Value: h.Kind, ValidUntil: h.End + 1000),
            new ChaosEvent(h.Client, "valid", h.Start),
            new ChaosEvent(h.Client, "released", h.End),
        }),
    ];

    /// <summary>A lock factory whose calls never complete, not even when cancelled.</summary>
    private sealed class NeverAnswers : IDistributedLockFactory
    {
        public Task<ILockHandle> AcquireAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
            new TaskCompletionSource<ILockHandle>().Task;

        public Task<ILockHandle?> TryAcquireAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
            new TaskCompletionSource<ILockHandle?>().Task;
    }
}
