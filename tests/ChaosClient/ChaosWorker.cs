using StackExchange.Redis;

namespace RedLockNet.Chaos;

/// <summary>
/// A chaos client: acquire the lock, EnsureValid, read the counter on the resource node, think, write value+1
/// (fenced with the token, or a plain SET without fencing), release. Every step is recorded.
/// </summary>
public sealed class ChaosWorker(
    string client,
    IDistributedLockFactory locks,
    IDatabaseAsync resource,
    string lockName,
    string counterKey,
    TimeSpan ttl,
    bool fencing,
    TimeSpan think,
    TimeSpan wait,
    Action<ChaosEvent> record)
{
    /// <summary>
    /// How long one operation (acquire, read, think, write, release) may take before it counts as a hang: its wait, TTL
    /// and think time plus 10 s for node timeouts and the resource's own command timeout.
    /// </summary>
    public TimeSpan OpBound { get; init; } = wait + ttl + think + TimeSpan.FromSeconds(10);

    /// <summary>
    /// The read half of a fenced read-modify-write, over the hash <see cref="FencedWrites"/> keeps (fields value and
    /// fence): refuses a token lower than the highest seen, else raises the fence to it and returns the value. Without
    /// it, two overlapping holders that both read before either writes both have their writes accepted (in token
    /// order), and one increment is lost: fenced writes alone protect blind writes, not read-modify-write.
    /// </summary>
    private const string FencedReadScript = """
        local seen = tonumber(redis.call('HGET', KEYS[1], 'fence') or '-1')
        if tonumber(ARGV[1]) < seen then return {0, 0} end
        redis.call('HSET', KEYS[1], 'fence', ARGV[1])
        return {1, tonumber(redis.call('HGET', KEYS[1], 'value') or '0')}
        """;

    /// <summary>
    /// With fencing, whether the read registers the token too (<see cref="FencedReadScript"/>); default true. False
    /// reads with <see cref="FencedWrites.FencedGetAsync"/> and fences the write only (the h-write-only control).
    /// </summary>
    public bool FencedReads { get; init; } = true;

    /// <summary>
    /// Whether the worker takes the write side of the reader-writer lock of that name instead of the plain lock
    /// (<c>locks</c> must then be an <see cref="IReaderWriterLockFactory"/>); its acquisitions are recorded with Value 1,
    /// a writer's hold for <c>Checkers.WriterAlone</c>. The writer's fencing token orders writers.
    /// </summary>
    public bool Writes { get; init; }

    /// <summary>Runs up to <paramref name="iterations"/> operations, stopping at <paramref name="duration"/> or cancellation.</summary>
    public async Task<int> RunAsync(int iterations, TimeSpan duration, CancellationToken cancellationToken)
    {
        var end = ChaosEvent.Now + ChaosEvent.Ticks(duration);
        var op = 0;
        for (; op < iterations && ChaosEvent.Now < end && !cancellationToken.IsCancellationRequested; op++)
        {
            try
            {
                await OneAsync(op, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        return op;
    }

    /// <summary>One lock, read-modify-write, release, within <see cref="OpBound"/>; past it a "hang" is recorded and TimeoutException thrown.</summary>
    public async Task OneAsync(int op, CancellationToken cancellationToken)
    {
        var one = UnboundedOneAsync(op, cancellationToken);
        if (await Task.WhenAny(one, Task.Delay(OpBound, CancellationToken.None)) != one)
        {
            record(new ChaosEvent(client, "hang", ChaosEvent.Now, op));
            throw new TimeoutException($"{client} op {op} on '{lockName}' did not finish within {OpBound.TotalSeconds:0.#} s (hang)");
        }

        await one;
    }

    private async Task UnboundedOneAsync(int op, CancellationToken cancellationToken)
    {
        var t0 = ChaosEvent.Now;
        ILockHandle handle;
        try
        {
            var request = new LockRequest { Expiry = ttl, WaitTimeout = wait, AutoRenew = false };
            handle = Writes
                ? await ((IReaderWriterLockFactory)locks).AcquireWriteAsync(lockName, request, cancellationToken)
                : await locks.AcquireAsync(lockName, request, cancellationToken);
        }
        catch (RedLockException ex)
        {
            record(new ChaosEvent(client, "acquire-failed", ChaosEvent.Now, op, T0: t0, Error: ex.GetType().Name));
            await Task.Delay(20, cancellationToken);
            return;
        }

        long token = 0;
        if (fencing)
        {
            try
            {
                // minted after acquiring (one more round while the lock stands): the lazy path users get by default
                token = await handle.GetFencingTokenAsync(cancellationToken);
            }
            catch (RedLockException ex)
            {
                record(new ChaosEvent(client, "acquire-failed", ChaosEvent.Now, op, T0: t0, Error: "mint " + ex.GetType().Name));
                await handle.DisposeAsync();
                return;
            }
        }

        var acquired = ChaosEvent.Now;
        record(new ChaosEvent(client, "acquired", acquired, op, T0: t0, Token: token, Value: Writes ? 1 : 0, ValidUntil: acquired + ChaosEvent.Ticks(handle.RemainingValidity)));
        try
        {
            handle.EnsureValid();
            record(new ChaosEvent(client, "valid", ChaosEvent.Now, op, Token: token));
            var r0 = ChaosEvent.Now;
            var read = await ReadAsync(token);
            if (read is not { } value)
            {
                record(new ChaosEvent(client, "read-refused", ChaosEvent.Now, op, T0: r0, Token: token));
                return;
            }

            record(new ChaosEvent(client, "read", ChaosEvent.Now, op, T0: r0, Token: token, Value: value));
            if (think > TimeSpan.Zero)
            {
                await Task.Delay(think, cancellationToken);
            }

            var w0 = ChaosEvent.Now;
            var written = fencing
                ? await resource.FencedSetAsync(counterKey, value + 1, token, cancellationToken: CancellationToken.None) // a write once sent is let finish, so the history records every write that landed
                : await resource.StringSetAsync(counterKey, value + 1);
            record(new ChaosEvent(client, written ? "write-ok" : "write-refused", ChaosEvent.Now, op, T0: w0, Token: token, Value: value + 1));
        }
        catch (LockLostException ex)
        {
            record(new ChaosEvent(client, "lost", ChaosEvent.Now, op, Token: token, Error: ex.Reason?.ToString()));
        }
        catch (Exception ex) when (ex is RedisException or RedLockException or TimeoutException)
        {
            record(new ChaosEvent(client, "error", ChaosEvent.Now, op, Token: token, Error: ex.GetType().Name));
        }
        finally
        {
            record(new ChaosEvent(client, "released", ChaosEvent.Now, op, Token: token));
            try
            {
                await handle.ReleaseAsync(CancellationToken.None);
            }
            catch (RedLockException ex)
            {
                record(new ChaosEvent(client, "error", ChaosEvent.Now, op, Token: token, Error: "release:" + ex.GetType().Name));
            }
        }
    }

    private async Task<long?> ReadAsync(long token)
    {
        if (fencing && FencedReads)
        {
            var reply = (RedisResult[])(await resource.ScriptEvaluateAsync(FencedReadScript, [counterKey], [token]))!;
            return (long)reply[0] == 0 ? null : (long)reply[1];
        }

        if (fencing)
        {
            var stored = await resource.FencedGetAsync(counterKey);
            return stored is { } s ? (long)s.Value : 0;
        }

        var raw = await resource.StringGetAsync(counterKey);
        return raw.IsNull ? 0 : (long)raw;
    }
}
