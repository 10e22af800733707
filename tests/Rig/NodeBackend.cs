namespace RedLockNet.TestRig;

/// <summary>The kind of Redis-compatible server a <see cref="TestNodeCluster"/> runs.</summary>
public enum NodeBackend
{
    /// <summary>A local <c>redis-server</c> executable found on <c>PATH</c>.</summary>
    RedisServer,

    /// <summary>Microsoft Garnet, hosted by the RedLockNet.NodeHost console app (one process per node).</summary>
    Garnet,

    /// <summary><c>redis:7</c> containers through Testcontainers; needs a Docker engine (opt-in only).</summary>
    Testcontainers,
}

/// <summary>Chooses the <see cref="NodeBackend"/> for a test run.</summary>
public static class NodeBackendSelector
{
    /// <summary>The environment variable that selects the backend.</summary>
    public const string EnvironmentVariable = "REDLOCK_TEST_BACKEND";

    private static readonly string[] AllowedValues = ["redis", "garnet", "testcontainers"];

    /// <summary>
    /// Reads <c>REDLOCK_TEST_BACKEND</c> (<c>redis</c>, <c>garnet</c> or <c>testcontainers</c>, case-insensitive).
    /// When it is unset or empty: <see cref="NodeBackend.RedisServer"/> if <c>redis-server</c> is on <c>PATH</c>,
    /// otherwise <see cref="NodeBackend.Garnet"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The variable holds a value that is not one of the allowed ones.</exception>
    public static NodeBackend FromEnvironment() => Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>Parses a backend name the way <see cref="FromEnvironment"/> does.</summary>
    /// <param name="value">The name, or <see langword="null"/>/blank for the default.</param>
    /// <exception cref="ArgumentException"><paramref name="value"/> is not one of the allowed names.</exception>
    public static NodeBackend Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return ExecutableLocator.Find(RedisServerCommand.ExecutableName) is null
                ? NodeBackend.Garnet
                : NodeBackend.RedisServer;
        }

        return value.Trim().ToUpperInvariant() switch
        {
            "REDIS" => NodeBackend.RedisServer,
            "GARNET" => NodeBackend.Garnet,
            "TESTCONTAINERS" => NodeBackend.Testcontainers,
            _ => throw new ArgumentException(
                $"{EnvironmentVariable}='{value}' is not a known backend; allowed values: {string.Join(", ", AllowedValues)} (case-insensitive), or unset for the default.",
                nameof(value)),
        };
    }
}
