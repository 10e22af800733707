namespace RedLockNet.TestRig;

/// <summary>A test node could not be started, or did not answer <c>PING</c> in time.</summary>
public sealed class TestNodeStartException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public TestNodeStartException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TestNodeStartException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TestNodeStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Whether the server failed because its port was already in use (the caller may retry).</summary>
    internal bool AddressInUse { get; init; }
}
