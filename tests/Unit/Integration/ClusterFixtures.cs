using RedLockNet.TestRig;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>Real server processes shared by the tests of one class (which use distinct resource names).</summary>
public abstract class ClusterFixture(int count) : IAsyncLifetime
{
    public TestNodeCluster Cluster { get; private set; } = null!;

    public IReadOnlyList<string> Endpoints => Cluster.Endpoints;

    public async ValueTask InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Cluster = await TestNodeCluster.StartAsync(count, cancellationToken: cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

public sealed class ThreeNodes() : ClusterFixture(3);

public sealed class FiveNodes() : ClusterFixture(5);

/// <summary>A factory and a probe over a shared fixture's nodes, fresh for every test.</summary>
public abstract class FixtureTest(ClusterFixture nodes) : IAsyncLifetime
{
    protected RedLockFactory Locks { get; private set; } = null!;

    protected NodeProbe Probe { get; private set; } = null!;

    protected ClusterFixture Nodes => nodes;

    public async ValueTask InitializeAsync()
    {
        Locks = await RedLockFactory.ConnectAsync(Clusters.Options(nodes.Endpoints), Clusters.Bound());
        Probe = await NodeProbe.ConnectAsync(nodes.Endpoints);
    }

    public async ValueTask DisposeAsync()
    {
        await Locks.DisposeAsync();
        await Probe.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

internal static class Clusters
{
    /// <summary>Options for tests: short node timeout and retry delays so fault tests finish quickly.</summary>
    public static RedLockOptions Options(IEnumerable<string> endpoints, Action<RedLockOptions>? configure = null)
    {
        var options = new RedLockOptions
        {
            NodeTimeout = TimeSpan.FromMilliseconds(500),
            ConnectTimeout = TimeSpan.FromSeconds(2),
            WaitTimeout = TimeSpan.FromSeconds(10),
        };
        foreach (var endpoint in endpoints)
        {
            options.Nodes.Add(endpoint);
        }

        configure?.Invoke(options);
        return options;
    }

    /// <summary>A bound on any single test step: proves nothing hangs, asserts no speed.</summary>
    public static CancellationToken Bound(int seconds = 60)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        return cts.Token;
    }

    public static string UniqueResource(string name) => $"{name}:{Guid.NewGuid():N}";
}
