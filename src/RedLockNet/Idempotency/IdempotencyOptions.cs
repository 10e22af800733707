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

    /// <summary>Checks every option against the lock factory's rules; each error names the option (<c>options.X</c>) and the rule.</summary>
#pragma warning disable CA2208 // the names are the caller's: options.X of the options object it passed
    internal void Validate(ILockFactoryWithRecords locks)
    {
        ArgumentNullException.ThrowIfNull(ResourcePrefix, "options.ResourcePrefix");
        ArgumentNullException.ThrowIfNull(Serializer, "options.Serializer");
        if (MaxResultBytes is < 0 or > 16 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException("options.MaxResultBytes", MaxResultBytes, "MaxResultBytes must be between 0 and 16 MiB.");
        }

        CheckSettings(Retention, InProgress, WaitTimeout, LockExpiry, "options", locks);
    }
#pragma warning restore CA2208

    /// <summary>Checks settings that options and per-call requests share; <paramref name="owner"/> prefixes the parameter names.</summary>
    internal static void CheckSettings(TimeSpan retention, InProgressBehavior inProgress, TimeSpan wait, TimeSpan expiry, string owner, ILockFactoryWithRecords locks)
    {
        if (retention < TimeSpan.FromSeconds(1) || retention > TimeSpan.FromDays(365))
        {
            throw new ArgumentOutOfRangeException(owner + ".Retention", retention, "Retention must be between 1 second and 365 days.");
        }

        if (!Enum.IsDefined(inProgress))
        {
            throw new ArgumentOutOfRangeException(owner + ".InProgress", inProgress, "InProgress must be Wait or Throw.");
        }

        if (wait < TimeSpan.Zero || wait > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(owner + ".WaitTimeout", wait, "WaitTimeout must be between 0 and 1 hour.");
        }

        locks.TimingFor(expiry, owner + ".LockExpiry");
    }

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
