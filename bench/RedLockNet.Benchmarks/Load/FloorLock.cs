using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace RedLockNet.Benchmarks.Load;

/// <summary>
/// The floor: the least a Redlock client can do on bare StackExchange.Redis, with no validity bookkeeping, renewal,
/// fencing, drift or retry policy. Acquire sends <c>SET key token NX PX ttl</c> to every node in parallel and returns
/// as soon as a majority granted (or a majority refused; then every node that granted, now or later, gets a
/// fire-and-forget compare-and-delete). Release runs the compare-and-delete script by EVALSHA (loaded once per node at
/// connect) on every node and returns once a majority answered. A waiting acquire retries at once after a random
/// 1–5 ms pause (seeded), until its wait has passed.
/// </summary>
internal sealed class FloorLock : LoadClient
{
    private const string CompareAndDelete = "if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) else return 0 end";

    /// <summary>How many tries a waiting acquire makes at most (a 2 s wait makes at most ~2000).</summary>
    private const int MaxTries = 100_000;

    private readonly ConnectionMultiplexer[] multiplexers;
    private readonly IDatabase[] databases;
    private readonly byte[][] hashes;
    private readonly string tokenPrefix;
    private readonly Random jitter;
    private readonly Lock jitterGate = new();
    private long tokens;

    private FloorLock(ConnectionMultiplexer[] multiplexers, byte[][] hashes, int seed)
        : base(ClientKind.Floor)
    {
        this.multiplexers = multiplexers;
        this.hashes = hashes;
        databases = [.. multiplexers.Select(m => m.GetDatabase())];
        jitter = new Random(seed);
        tokenPrefix = string.Create(CultureInfo.InvariantCulture, $"floor:{Environment.ProcessId}:{seed}:");
    }

    private int Majority => databases.Length / 2 + 1;

    public static async Task<FloorLock> ConnectAsync(IReadOnlyList<string> endpoints, int seed)
    {
        var multiplexers = await ConnectMultiplexersAsync(endpoints);
        var hashes = await Task.WhenAll(multiplexers.Select(m => m.GetServer(m.GetEndPoints()[0]).ScriptLoadAsync(CompareAndDelete)));
        return new FloorLock(multiplexers, hashes, seed);
    }

    /// <summary>The servers behind this floor's connections (for reading keys).</summary>
    public IEnumerable<IServer> Servers => multiplexers.Select(m => m.GetServer(m.GetEndPoints()[0]));

    public override Task<object?> TryAcquireAsync(string resource, CancellationToken cancellationToken) =>
        TryAcquireAsync(resource, Expiry, cancellationToken);

    /// <summary>One attempt on the raw key <paramref name="key"/> with its own expiry (the failing-try scenario's holder).</summary>
    public async Task<object?> TryAcquireAsync(string key, TimeSpan expiry, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var handle = new Handle(key, tokenPrefix + Interlocked.Increment(ref tokens).ToString(CultureInfo.InvariantCulture));
        var vote = new Vote(this, handle, cleanUpRefused: true);
        for (var node = 0; node < databases.Length; node++)
        {
            vote.Watch(node, databases[node].StringSetAsync(key, handle.Token, expiry, When.NotExists));
        }

        return await vote.Task ? handle : null;
    }

    public override async Task<object?> AcquireAsync(string resource, TimeSpan wait, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        for (var tries = 0; tries < MaxTries; tries++)
        {
            if (await TryAcquireAsync(resource, cancellationToken) is { } handle)
            {
                return handle;
            }

            if (Stopwatch.GetElapsedTime(start) >= wait)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(NextPauseMilliseconds()), cancellationToken);
        }

        return null;
    }

    public override async ValueTask ReleaseAsync(object handle)
    {
        var held = (Handle)handle;
        var vote = new Vote(this, held, cleanUpRefused: false);
        for (var node = 0; node < databases.Length; node++)
        {
            vote.Watch(node, databases[node].ScriptEvaluateAsync(hashes[node], [held.Key], [held.Token]));
        }

        await vote.Task;
    }

    public override ValueTask DisposeAsync() => DisposeAllAsync(multiplexers);

    private int NextPauseMilliseconds()
    {
        lock (jitterGate)
        {
            return jitter.Next(1, 6);
        }
    }

    private void DeleteInBackground(int node, Handle handle) =>
        _ = databases[node].ScriptEvaluateAsync(hashes[node], [handle.Key], [handle.Token], CommandFlags.FireAndForget);

    private sealed record Handle(string Key, string Token);

    /// <summary>
    /// Counts the nodes' answers and decides at the first majority. For an acquire a "yes" is a granted SET; for a
    /// release it is any answer. A refused acquire deletes wherever it was granted, including grants that arrive late.
    /// </summary>
    private sealed class Vote(FloorLock owner, Handle handle, bool cleanUpRefused)
        : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private readonly Lock gate = new();
        private readonly Task[] pending = new Task[owner.databases.Length];
        private int yes;
        private int no;
        private int grantedNodes;
        private bool? outcome;

        public void Watch(int node, Task answer)
        {
            pending[node] = answer;
            answer.ContinueWith(
                static (task, state) => ((Vote)state!).Count(task),
                this,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        private void Count(Task answer)
        {
            var node = Array.IndexOf(pending, answer);
            var answered = answer.IsCompletedSuccessfully;
            _ = answer.Exception; // observed: a dead node's error is a "no"
            var granted = answered && (answer is not Task<bool> set || set.Result);
            var cleanup = 0;
            bool? decided = null;
            lock (gate)
            {
                if (granted)
                {
                    yes++;
                    grantedNodes |= 1 << node;
                }
                else
                {
                    no++;
                }

                if (outcome is null)
                {
                    if (yes >= owner.Majority)
                    {
                        outcome = decided = true;
                    }
                    else if (no > pending.Length - owner.Majority)
                    {
                        outcome = decided = false;
                        cleanup = grantedNodes;
                    }
                }
                else if (outcome == false && granted)
                {
                    cleanup = 1 << node;
                }
            }

            if (cleanUpRefused)
            {
                for (var i = 0; i < pending.Length; i++)
                {
                    if ((cleanup & (1 << i)) != 0)
                    {
                        owner.DeleteInBackground(i, handle);
                    }
                }
            }

            if (decided is { } result)
            {
                TrySetResult(result);
            }
        }
    }
}
