namespace RedLockNet.Hosting.Election;

/// <summary>Ends a term once: the first reason given wins, and ending cancels the term's token.</summary>
internal sealed class TermEnding(CancellationTokenSource term)
{
    private int _reason = -1;

    /// <summary>The first reason given; null while the term lasts.</summary>
    public LeadershipEndReason? Reason => Volatile.Read(ref _reason) is var r and >= 0 ? (LeadershipEndReason)r : null;

    /// <summary>Ends the term for <paramref name="reason"/> unless it has already ended. Thread-safe.</summary>
    public void End(LeadershipEndReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, -1) == -1)
        {
            try
            {
                term.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // the term is already over
            }
        }
    }
}
