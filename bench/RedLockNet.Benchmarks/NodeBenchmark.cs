using BenchmarkDotNet.Attributes;

namespace RedLockNet.Benchmarks;

/// <summary>A benchmark over three local nodes started in its own process: setup starts them, cleanup closes every client and kills them.</summary>
public abstract class NodeBenchmark
{
    /// <summary>The nodes and clients of this run; set by the subclass's [GlobalSetup].</summary>
    protected BenchmarkNodes? Nodes { get; private set; }

    /// <summary>Starts the nodes; call first in [GlobalSetup].</summary>
    protected async Task<BenchmarkNodes> StartNodesAsync() => Nodes = await BenchmarkNodes.StartAsync();

    /// <summary>Closes the clients and kills the nodes.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (Nodes is not null)
        {
            await Nodes.DisposeAsync();
            Nodes = null;
        }
    }
}
