namespace RedLockNet.Idempotency;

/// <summary>What a delivery does when another delivery of the same key is being processed right now.</summary>
public enum InProgressBehavior
{
    /// <summary>Wait (up to <see cref="IdempotencyOptions.WaitTimeout"/>) for it to finish, then return its result.</summary>
    Wait,

    /// <summary>Throw <see cref="IdempotencyInProgressException"/> at once (an HTTP endpoint answers 409 and the sender retries).</summary>
    Throw,
}

/// <summary>Settings of an <see cref="IdempotentProcessor"/>; <see cref="IdempotencyRequest"/> overrides them per call.</summary>
public sealed class IdempotencyOptions
{
    /// <summary>Prefix of the lock resource for a key: the lock is <c>{ResourcePrefix}{key}</c>. Default <c>idempotency:</c>.</summary>
    public string ResourcePrefix { get; set; } = "idempotency:";

    /// <summary>How long a completion record is kept (later deliveries within it get the stored result). Default 24 hours.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>What a concurrent duplicate does. Default <see cref="InProgressBehavior.Wait"/>.</summary>
    public InProgressBehavior InProgress { get; set; } = InProgressBehavior.Wait;

    /// <summary>How long a concurrent duplicate waits for the first delivery. Default 30 s.</summary>
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Time to live of the processing lock (renewed while the handler runs). A holder that crashes blocks the key
    /// for at most this long. Default 30 s.
    /// </summary>
    public TimeSpan LockExpiry { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest serialized result stored, in bytes. Default 64 KiB.</summary>
    public int MaxResultBytes { get; set; } = 64 * 1024;

    /// <summary>How results are stored. Default: System.Text.Json with web defaults.</summary>
    public IIdempotencySerializer Serializer { get; set; } = JsonIdempotencySerializer.Default;

    internal IdempotencyOptions Clone() => (IdempotencyOptions)MemberwiseClone();
}

/// <summary>Per-call overrides of <see cref="IdempotencyOptions"/>; null members take the processor's settings.</summary>
public sealed record IdempotencyRequest
{
    /// <summary>How long this key's completion record is kept.</summary>
    public TimeSpan? Retention { get; init; }

    /// <summary>What a concurrent duplicate does.</summary>
    public InProgressBehavior? InProgress { get; init; }

    /// <summary>How long a concurrent duplicate waits.</summary>
    public TimeSpan? WaitTimeout { get; init; }

    /// <summary>Time to live of the processing lock.</summary>
    public TimeSpan? LockExpiry { get; init; }
}
