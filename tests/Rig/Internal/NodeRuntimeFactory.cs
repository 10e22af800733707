namespace RedLockNet.TestRig;

/// <summary>Creates the per-node runtimes of a backend, resolving its executables once.</summary>
internal static class NodeRuntimeFactory
{
    /// <summary>A factory of fresh, not yet started runtimes for <paramref name="backend"/>.</summary>
    /// <exception cref="InvalidOperationException">The backend's executable was not found.</exception>
    /// <exception cref="FileNotFoundException">The Garnet node host has not been built.</exception>
    public static Func<INodeRuntime> For(NodeBackend backend, Action<string> log)
    {
        switch (backend)
        {
            case NodeBackend.RedisServer:
                var redis = new RedisServerCommand();
                return () => new ProcessNodeRuntime(redis, log);
            case NodeBackend.Garnet:
                var garnet = new GarnetCommand();
                return () => new ProcessNodeRuntime(garnet, log);
            case NodeBackend.Testcontainers:
                return () => new ContainerNodeRuntime(log);
            default:
                throw new ArgumentOutOfRangeException(nameof(backend), backend, "Unknown node backend.");
        }
    }
}
