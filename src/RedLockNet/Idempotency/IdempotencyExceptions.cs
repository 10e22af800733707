namespace RedLockNet.Idempotency;

/// <summary>Another delivery of the same key is being processed (and the caller asked not to wait, or the wait ran out).</summary>
public sealed class IdempotencyInProgressException : RedLockException
{
    /// <summary>Creates the exception.</summary>
    public IdempotencyInProgressException(string key, TimeSpan waited)
        : base(waited == TimeSpan.Zero
            ? $"Key '{key}' is being processed by another delivery; try again later."
            : $"Key '{key}' was still being processed by another delivery after waiting {waited.TotalMilliseconds:0} ms.")
    {
        Key = key;
        Waited = waited;
    }

    /// <summary>The idempotency key.</summary>
    public string Key { get; }

    /// <summary>How long this call waited (zero when it did not).</summary>
    public TimeSpan Waited { get; }
}

/// <summary>
/// The handler's result is larger than <see cref="IdempotencyOptions.MaxResultBytes"/>. The handler did run: the
/// completion is recorded without the result, so later deliveries do not run it again and get this error too.
/// </summary>
public sealed class IdempotencyResultTooLargeException : RedLockException
{
    /// <summary>Creates the exception.</summary>
    public IdempotencyResultTooLargeException(string key, int size, int limit)
        : base($"The result for key '{key}' is {size} bytes serialized; at most {limit} bytes are stored (IdempotencyOptions.MaxResultBytes). The handler ran; its completion is recorded without the result.")
    {
        Key = key;
        Size = size;
        Limit = limit;
    }

    /// <summary>The idempotency key.</summary>
    public string Key { get; }

    /// <summary>The serialized size, in bytes (0 when it is not known: a replay).</summary>
    public int Size { get; }

    /// <summary>The limit, in bytes.</summary>
    public int Limit { get; }
}

/// <summary>
/// The handler ran, but its completion could not be recorded on a majority of nodes (nodes unreachable, or the
/// processing lock was lost before the record was written). A later delivery may run the handler again.
/// </summary>
public sealed class IdempotencyRecordException : RedLockException
{
    /// <summary>Creates the exception.</summary>
    public IdempotencyRecordException(string key, string reason)
        : base($"The handler for key '{key}' ran, but its completion was not recorded on a majority of nodes ({reason}); a later delivery may run it again.")
    {
        Key = key;
        Reason = reason;
    }

    /// <summary>The idempotency key.</summary>
    public string Key { get; }

    /// <summary>Why the record was not written.</summary>
    public string Reason { get; }
}
