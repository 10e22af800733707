namespace RedLockNet.TestRig;

/// <summary>Creates the per-node runtimes of a backend, resolving its executables once.</summary>
internal static class NodeRuntimeFactory
{
    /// <summary>A factory of fresh, not yet started runtimes for <paramref name="backend"/>.</summary>
    /// <exception cref="InvalidOperationException">The backend's executable was not found.</exception>
    /// <exception cref="FileNotFoundException">The Garnet node host has not been built.</exception>
    /// <exception cref="NotSupportedException"><paramref name="security"/> is given for the container backend.</exception>
    public static Func<INodeRuntime> For(NodeBackend backend, Action<string> log, SecurityFiles? security = null)
    {
        switch (backend)
        {
            case NodeBackend.RedisServer:
                var redis = new RedisServerCommand(security);
                return () => new ProcessNodeRuntime(redis, log);
            case NodeBackend.Garnet:
                var garnet = new GarnetCommand(security);
                return () => new ProcessNodeRuntime(garnet, log);
            case NodeBackend.Testcontainers when security is not null:
                throw new NotSupportedException("The container backend does not start TLS or ACL nodes; use 'redis' or 'garnet'.");
            case NodeBackend.Testcontainers:
                return () => new ContainerNodeRuntime(log);
            default:
                throw new ArgumentOutOfRangeException(nameof(backend), backend, "Unknown node backend.");
        }
    }
}
