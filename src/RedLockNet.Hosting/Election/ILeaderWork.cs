namespace RedLockNet.Hosting.Election;

/// <summary>
/// Long-running work done while this replica leads an election (own a partition, drain a queue alone), registered
/// with <c>AddLeaderElection&lt;TWork&gt;(group)</c>: resolved in a new dependency-injection scope for each term won.
/// </summary>
public interface ILeaderWork
{
    /// <summary>
    /// Runs for one term. <paramref name="cancellationToken"/> fires when the term ends (before the lease can expire) or
    /// the host stops; the term ends only after this task has finished, so honour it. Pass
    /// <see cref="LeadershipTerm.Epoch"/> with writes so a deposed leader is refused.
    /// </summary>
    Task RunAsync(LeadershipTerm term, CancellationToken cancellationToken);
}
