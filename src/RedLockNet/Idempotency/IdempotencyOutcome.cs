namespace RedLockNet.Idempotency;

/// <summary>What a call to <see cref="IdempotentProcessor.RunOnceAsync{T}(string, Func{CancellationToken, Task{T}}, CancellationToken)"/> did.</summary>
/// <typeparam name="T">The handler's result type.</typeparam>
public sealed class IdempotencyOutcome<T>
{
    internal IdempotencyOutcome(T result, bool executed, long fencingToken, DateTimeOffset completedAt)
    {
        Result = result;
        Executed = executed;
        FencingToken = fencingToken;
        CompletedAt = completedAt;
    }

    /// <summary>The handler's result: this call's, or the stored result of the delivery that ran it.</summary>
    public T Result { get; }

    /// <summary>True when this call ran the handler.</summary>
    public bool Executed { get; }

    /// <summary>True when an earlier delivery ran the handler and this call returned its stored result.</summary>
    public bool Replayed => !Executed;

    /// <summary>The fencing token of the delivery that ran the handler.</summary>
    public long FencingToken { get; }

    /// <summary>When the handler completed (the running replica's wall clock).</summary>
    public DateTimeOffset CompletedAt { get; }
}

/// <summary>What the handler is told: the key and the fencing token of this run, for writes the resource can fence.</summary>
/// <param name="Key">The idempotency key.</param>
/// <param name="FencingToken">The processing lock's fencing token.</param>
public sealed record IdempotencyContext(string Key, long FencingToken);
