using System.Collections.Concurrent;
using RedLockNet.Idempotency;
using RedLockNet.Tests.Unit.Integration;

namespace RedLockNet.Tests.Unit.Security;

/// <summary>
/// Nodes behind a <see cref="HostileProxy"/> answer lock commands with replies of the wrong type, nested arrays,
/// 8 MB strings, 64 MB headers, errors in the middle of a pipeline and truncated replies. One such node is a vote
/// against; two leave too few honest nodes and the public API says so with the library's own exceptions, and no
/// background task (renewal, round bookkeeping) ever throws unobserved.
/// </summary>
[Collection(SecureNodesGroup.Name)]
public sealed class HostileReplyTests(SecureNodes nodes, ITestOutputHelper output)
{
    private static readonly Lie[] Lies = [.. Enum.GetValues<Lie>().Where(lie => lie != Lie.None)];

    [Fact]
    public async Task One_lying_node_of_three_is_a_vote_against_and_locks_records_and_renewals_go_on_with_the_two_honest_ones()
    {
        using var unobserved = new UnobservedExceptions();
        await using var liar = new HostileProxy(nodes.Cluster, 0);
        await using var locks = await ConnectAsync([Plain(liar), nodes.ConnectionString(1), nodes.ConnectionString(2)]);
        var processor = new IdempotentProcessor(locks, new IdempotencyOptions { WaitTimeout = TimeSpan.FromSeconds(5) });

        // a one-second lease renewed every third of a second through every lie below
        await using var lease = await locks.AcquireAsync("hostile:lease", TimeSpan.FromSeconds(1), Clusters.Bound());
        foreach (var lie in Lies)
        {
            await UntilAnsweringAsync(locks, liar); // after a lie that closed the connection, the next must reach the node
            liar.Lie = lie;
            var told = liar.Lies;
            var resource = $"hostile:{lie}:{Guid.NewGuid():N}";
            async Task HoldAsync(string name, LockRequest? request = null)
            {
                await using var held = await locks.AcquireAsync(name, request, Clusters.Bound());
                if (request?.FencingOnAcquire == true)
                {
                    Assert.True(held.FencingToken > 0);
                }
            }

            // at once, so the lock commands share the liar's connection: a pipeline with the lies in between
            await Task.WhenAll(
                HoldAsync(resource + ":plain"),
                HoldAsync(resource + ":fenced", new LockRequest { FencingOnAcquire = true }),
                Task.Run(async () =>
                {
                    await using var tried = await locks.TryAcquireAsync(resource + ":try", Clusters.Bound());
                    Assert.NotNull(tried);
                    Assert.True(await tried.GetFencingTokenAsync(Clusters.Bound()) > 0);
                }, TestContext.Current.CancellationToken),
                Task.Run(async () =>
                {
                    Assert.True((await processor.RunOnceAsync(resource + ":record", _ => Task.FromResult(lie.ToString()), Clusters.Bound())).Executed);
                    var replayed = await processor.RunOnceAsync(resource + ":record", _ => Task.FromResult("again"), Clusters.Bound());
                    Assert.True(replayed.Replayed);
                    Assert.Equal(lie.ToString(), replayed.Result);
                }, TestContext.Current.CancellationToken));

            Assert.True(liar.Lies > told, $"{lie}: no reply was replaced");
            Assert.Equal(LockStatus.Held, lease.Status);
        }

        liar.Lie = Lie.None;
        lease.EnsureValid();
        await lease.ReleaseAsync(Clusters.Bound());
        output.WriteLine($"{liar.Lies} replies replaced");
        unobserved.AssertNone();
    }

    [Fact]
    public async Task Two_lying_nodes_of_three_fail_every_call_with_the_library_exceptions_and_the_lease_reports_its_loss()
    {
        using var unobserved = new UnobservedExceptions();
        await using var first = new HostileProxy(nodes.Cluster, 0);
        await using var second = new HostileProxy(nodes.Cluster, 1);
        await using var locks = await ConnectAsync([Plain(first), Plain(second), nodes.ConnectionString(2)]);
        var processor = new IdempotentProcessor(locks, new IdempotencyOptions { WaitTimeout = TimeSpan.FromMilliseconds(300) });
        var fast = new LockRequest { WaitTimeout = TimeSpan.FromMilliseconds(300) };

        var lease = await locks.AcquireAsync("hostile:lost", TimeSpan.FromSeconds(1), Clusters.Bound());
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lease.LostToken.Register(lost.SetResult);
        var outcomes = new List<string>();
        foreach (var lie in Lies)
        {
            first.Lie = second.Lie = lie;
            var told = first.Lies + second.Lies;
            var resource = $"hostile2:{lie}:{Guid.NewGuid():N}";
            // every other reply of ErrorEveryOther is the node's own: a grant among them is true, so a call may succeed
            var mayWin = lie == Lie.ErrorEveryOther;
            var failures = await Task.WhenAll(
                FailureOfAsync(() => locks.AcquireAsync(resource, fast, Clusters.Bound()), mayWin),
                FailureOfAsync(() => locks.AcquireAsync(resource + ":f", fast with { FencingOnAcquire = true }, Clusters.Bound()), mayWin),
                FailureOfAsync(() => locks.TryAcquireAsync(resource + ":t", Clusters.Bound()), mayWin, nullIsRefusal: true),
                FailureOfAsync(() => processor.RunOnceAsync(resource + ":r", _ => Task.FromResult(1), Clusters.Bound()), mayWin));
            outcomes.Add($"{lie}: acquire {failures[0]}, fenced {failures[1]}, try {failures[2]}, record {failures[3]}");
            // a call can end at the round's timeout while its (lying) reply is still on its way through the proxy
            var counted = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (first.Lies + second.Lies <= told && DateTime.UtcNow < counted)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }

            Assert.True(first.Lies + second.Lies > told, $"{lie}: no reply was replaced");
            if (lie == Lies[0])
            {
                // no renewal can be confirmed any more: the holder is told before the keys may expire
                await lost.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
                Assert.Equal(LockStatus.Lost, lease.Status);
                Assert.Contains(lease.LostReason, new LockLostReason?[] { LockLostReason.RenewalTimedOut, LockLostReason.Refused });
            }
        }

        output.WriteLine(string.Join(Environment.NewLine, outcomes));
        await lease.DisposeAsync();
        unobserved.AssertNone();
    }

    /// <summary>Waits (bounded) until the node behind <paramref name="proxy"/> answers honestly again.</summary>
    private static async Task UntilAnsweringAsync(RedLockFactory locks, HostileProxy proxy)
    {
        proxy.Lie = Lie.None;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!(await locks.ProbeNodesAsync(TimeSpan.FromSeconds(1), Clusters.Bound())).Single(n => n.Endpoint == proxy.Endpoint).CanVote)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{proxy.Endpoint} did not come back");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    private string Plain(HostileProxy proxy) => $"{proxy.Endpoint},user={nodes.Credentials.User},password={nodes.Credentials.Password}";

    private async Task<RedLockFactory> ConnectAsync(string[] entries) =>
        await RedLockFactory.ConnectAsync(
            Clusters.Options(entries, o => o.ConfigureConnection = c => c.TrustIssuer(nodes.Credentials.CaCertificatePath!)),
            Clusters.Bound());

    /// <summary>
    /// Runs a call that must not succeed (unless <paramref name="mayWin"/>); returns the library exception it threw, or
    /// what it returned. Any other exception fails the test.
    /// </summary>
    private static async Task<string> FailureOfAsync<T>(Func<Task<T>> call, bool mayWin, bool nullIsRefusal = false)
    {
        T result;
        try
        {
            result = await call();
        }
        catch (RedLockException ex)
        {
            return ex.GetType().Name;
        }

        if (nullIsRefusal && result is null)
        {
            return "null (counted as held elsewhere)";
        }

        if (result is IAsyncDisposable handle)
        {
            await handle.DisposeAsync();
        }

        Assert.True(mayWin, $"succeeded with a majority of lying nodes: {result}");
        return "succeeded";
    }
}

/// <summary>Collects <see cref="TaskScheduler.UnobservedTaskException"/> while it lives (forcing finalization before the check).</summary>
internal sealed class UnobservedExceptions : IDisposable
{
    private readonly ConcurrentQueue<Exception> _seen = new();

    public UnobservedExceptions() => TaskScheduler.UnobservedTaskException += OnUnobserved;

    /// <summary>Collects garbage so that dropped faulted tasks report, then asserts none did from RedLockNet's code.</summary>
    public void AssertNone()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var ours = _seen.Select(e => e.ToString()).Where(FromTheLibrary).ToList();
        Assert.True(ours.Count == 0, string.Join(Environment.NewLine + Environment.NewLine, ours));
    }

    public void Dispose() => TaskScheduler.UnobservedTaskException -= OnUnobserved;

    /// <summary>Whether a stack passes through the library (not only through tests running meanwhile).</summary>
    private static bool FromTheLibrary(string exception) => exception.Split('\n').Any(line =>
        line.TrimStart().StartsWith("at RedLockNet.", StringComparison.Ordinal)
        && !line.TrimStart().StartsWith("at RedLockNet.Tests", StringComparison.Ordinal));

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => _seen.Enqueue(e.Exception);
}
