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

    /// <summary>A lock factory whose calls never complete, not even when cancelled.</summary>
    private sealed class NeverAnswers : IDistributedLockFactory
    {
        public Task<ILockHandle> AcquireAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
            new TaskCompletionSource<ILockHandle>().Task;

        public Task<ILockHandle?> TryAcquireAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
            new TaskCompletionSource<ILockHandle?>().Task;
    }
}
