namespace RedLockNet.Chaos;

/// <summary>
/// A chaos client of a semaphore or a reader-writer lock: acquire (a write one time in <see cref="WriteOneIn"/>, when
/// the primitive has kinds), hold, release. It touches no data: the checkers of these primitives look at the holds
/// only (<c>Checkers.MostAtOnce</c>, <c>Checkers.WriterAlone</c>). Records acquired (Value 1 for a write; the deadline
/// from the validity left on return), valid, released (before the release is sent), acquire-failed, and hang when an
/// acquisition outlives <see cref="AcquireBound"/>. Runs in process and in the ChaosClient process alike.
/// </summary>
/// <param name="client">Who acts.</param>
/// <param name="seed">Seeds the choice of kind and the random hold.</param>
/// <param name="acquire">Takes the primitive: a write when its argument is true; null when contended.</param>
/// <param name="record">Where the events go.</param>
public sealed class PrimitiveWorker(string client, int seed, Func<bool, CancellationToken, Task<ILockHandle?>> acquire, Action<ChaosEvent> record)
{
    private readonly Random random = new(seed);

    /// <summary>One acquisition in this many is a write; 0 for none (a semaphore's holder, or readers only). Default 3.</summary>
    public int WriteOneIn { get; init; } = 3;

    /// <summary>How long a hold lasts; null (default) for a random 5 to 30 ms.</summary>
    public TimeSpan? Hold { get; init; }

    /// <summary>
    /// Whether the holder checks <see cref="ILockHandle.EnsureValid"/> again when its hold ends, as a holder does right
    /// before it acts on what it protects: "valid" when it passed (a pass after the deadline is what
    /// <c>Checkers.ValidityUse</c> reports), "lost" (with the reason, and whether LostToken had fired) when it threw.
    /// </summary>
    public bool CheckAfterHold { get; init; }

    /// <summary>Called once an acquisition is held and recorded valid (the ChaosClient prints "holding" for the scenario to pause it).</summary>
    public Action<int>? OnHolding { get; init; }

    /// <summary>How long an acquisition may take before it counts as a hang (the loop records it and stops). Default 10 s.</summary>
    public TimeSpan AcquireBound { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Loops until <paramref name="stop"/> fires, <paramref name="iterations"/> operations were made or
    /// <paramref name="duration"/> passed (defaults: no limit); returns how many operations it began.
    /// </summary>
    public async Task<int> RunAsync(CancellationToken stop, int iterations = int.MaxValue, TimeSpan? duration = null)
    {
        var end = duration is { } d ? ChaosEvent.Now + ChaosEvent.Ticks(d) : long.MaxValue;
        var op = 0;
        for (; op < iterations && ChaosEvent.Now < end && !stop.IsCancellationRequested; op++)
        {
            if (!await OneAsync(op))
            {
                return op + 1;
            }
        }

        return op;
    }

    /// <summary>One acquire, hold, release; false when the acquisition hung (recorded).</summary>
    private async Task<bool> OneAsync(int op)
    {
        var write = WriteOneIn > 0 && random.Next(WriteOneIn) == 0;
        var t0 = ChaosEvent.Now;
        ILockHandle? handle;
        try
        {
            var attempt = acquire(write, CancellationToken.None);
            if (await Task.WhenAny(attempt, Task.Delay(AcquireBound, CancellationToken.None)) != attempt)
            {
                record(new ChaosEvent(client, "hang", ChaosEvent.Now, op, t0));
                return false;
            }

            handle = await attempt;
        }
        catch (RedLockException ex)
        {
            record(new ChaosEvent(client, "acquire-failed", ChaosEvent.Now, op, t0, Error: ex.GetType().Name));
            return true;
        }

        if (handle is null)
        {
            record(new ChaosEvent(client, "acquire-failed", ChaosEvent.Now, op, t0, Error: "contended"));
            return true;
        }

        var acquiredAt = ChaosEvent.Now;
        record(new ChaosEvent(client, "acquired", acquiredAt, op, t0, Value: write ? 1 : 0, ValidUntil: acquiredAt + ChaosEvent.Ticks(handle.RemainingValidity)));
        record(new ChaosEvent(client, "valid", acquiredAt, op));
        OnHolding?.Invoke(op);
        await Task.Delay(Hold ?? TimeSpan.FromMilliseconds(random.Next(5, 30)), CancellationToken.None);
        if (CheckAfterHold)
        {
            try
            {
                handle.EnsureValid();
                record(new ChaosEvent(client, "valid", ChaosEvent.Now, op));
            }
            catch (LockLostException ex)
            {
                record(new ChaosEvent(client, "lost", ChaosEvent.Now, op, Error: $"{ex.Reason}{(handle.LostToken.IsCancellationRequested ? ", LostToken fired" : ", LostToken not fired")}"));
            }
        }

        record(new ChaosEvent(client, "released", ChaosEvent.Now, op));
        try
        {
            await handle.ReleaseAsync(CancellationToken.None);
        }
        catch (RedLockException)
        {
            // keys left behind expire with their ttl; the hold ended when the release started
        }

        return true;
    }
}
