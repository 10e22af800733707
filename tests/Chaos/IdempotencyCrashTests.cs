using System.Diagnostics;
using RedLockNet.Idempotency;

namespace RedLockNet.Chaos;

/// <summary>
/// The idempotency crash test with a real crash: a worker process (RedLockNet.ChaosClient, --mode idempotent) is
/// killed with SIGKILL in the middle of its handler. The key is blocked only until the dead worker's processing lock
/// expires; the next delivery runs the handler once and records it; every later delivery, in this process or another,
/// replays that result. The dead worker's start stays counted on the resource: a side effect a crash leaves behind,
/// which is why handlers get a fencing token.
/// </summary>
// the rig's nodes are shared and the scenarios kill and restart them: run one at a time with them, not beside them
[Collection(nameof(Scenarios))]
public sealed class IdempotencyCrashTests
{
    [Fact]
    public async Task A_worker_killed_mid_handler_blocks_the_key_only_until_its_lock_expires_and_the_next_delivery_completes_once()
    {
        var clock = Stopwatch.StartNew();
        await using var rig = await ChaosRig.StartAsync("idem", Scenarios.Bound());
        var key = rig.LockName;
        var starts = rig.LockName + ":starts";
        var ttl = TimeSpan.FromSeconds(2);
        string[] Arguments(string client, TimeSpan work) =>
        [
            "--mode", "idempotent", "--nodes", string.Join(',', rig.LockEndpoints), "--resource-node", rig.ResourceEndpoint,
            "--key", key, "--starts", starts, "--client", client,
            "--ttl-ms", ((int)ttl.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--work-ms", ((int)work.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];

        // worker 1 starts the handler (which would work for a minute) and is killed there
        var started = new TaskCompletionSource<ChaosEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var doomed = ChaosClientProcess.Start(Arguments("w1", TimeSpan.FromMinutes(1)), rig.History, e =>
        {
            if (e.Kind == "handler-started")
            {
                started.TrySetResult(e);
            }
        });
        await using (doomed)
        {
            var first = await started.Task.WaitAsync(TimeSpan.FromSeconds(60), Scenarios.Bound());
            Assert.True(first.Token > 0);
        } // SIGKILL: no release, no renewal, no record

        var killedAt = Stopwatch.GetTimestamp();

        // the redelivery in this process waits for the dead worker's lock to expire, then runs the handler once
        // the chaos nodes are shared and may have been restarted by the scenario before: quarantine covers 2 s locks
        await using var locks = await rig.FactoryAsync(o => o.RestartQuarantinePeriod = TimeSpan.FromSeconds(3));
        var processor = new IdempotentProcessor(locks, new IdempotencyOptions { LockExpiry = ttl, WaitTimeout = TimeSpan.FromSeconds(30) });
        var runs = 0;
        var outcome = await processor.RunOnceAsync(key, (context, _) =>
        {
            Interlocked.Increment(ref runs);
            return Task.FromResult(context.FencingToken);
        }, cancellationToken: Scenarios.Bound()).WaitAsync(TimeSpan.FromSeconds(45), Scenarios.Bound());
        var blocked = Stopwatch.GetElapsedTime(killedAt);
        Assert.True(outcome.Executed);
        Assert.Equal(1, runs);
        Assert.True(outcome.Result > (await started.Task).Token, "the redelivery's token passed the dead worker's");
        Assert.True(blocked < TimeSpan.FromSeconds(30), $"the key was free again {blocked.TotalSeconds:F1} s after the kill"); // a bound, not a speed claim

        // later deliveries replay it: another process, and this one
        var replayed = new TaskCompletionSource<ChaosEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (var second = ChaosClientProcess.Start(Arguments("w2", TimeSpan.FromMilliseconds(10)), rig.History, e =>
        {
            if (e.Kind is "completed" or "replayed" or "error")
            {
                replayed.TrySetResult(e);
            }
        }))
        {
            var answer = await replayed.Task.WaitAsync(TimeSpan.FromSeconds(60), Scenarios.Bound());
            Assert.Equal("replayed", answer.Kind);
            Assert.Equal(outcome.Result, answer.Value);
        }

        var again = await processor.RunOnceAsync(key, (_, _) => Task.FromResult(-1L), cancellationToken: Scenarios.Bound());
        Assert.True(again.Replayed);
        Assert.Equal(outcome.Result, again.Result);

        // two handler starts in all (the killed one and the completed one), one completion
        var startCount = (long)await rig.Resource.GetDatabase().StringGetAsync(starts);
        Assert.Equal(1, startCount); // only worker 1 counts on the resource; the in-process handler counts in `runs`
        var history = rig.History.Snapshot();
        Assert.Single(history, e => e.Kind == "handler-started");
        Assert.DoesNotContain(history, e => e.Kind == "completed");
        rig.Report("idempotency: worker SIGKILLed mid-handler", 0, "kill -9 of the worker process in its handler", clock.Elapsed, []);
    }
}
