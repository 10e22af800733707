namespace RedLockNet.Tests.Unit.Architecture;

/// <summary>Which layer may use which, and the checks against a <see cref="LayerGraph"/>.</summary>
internal static class LayerRules
{
    /// <summary>src/RedLockNet: layer to the layers it may use (null: any).</summary>
    public static readonly IReadOnlyDictionary<string, string[]?> Core = new Dictionary<string, string[]?>(StringComparer.Ordinal)
    {
        ["Timing"] = [],
        ["Contracts"] = ["Timing"],
        ["Diagnostics"] = ["Contracts"],
        ["Nodes/Scripts"] = ["Contracts", "Timing"],
        ["Nodes"] = ["Nodes/Scripts", "Contracts", "Diagnostics", "Timing"],
        ["Engine"] = ["Nodes", "Nodes/Scripts", "Contracts", "Diagnostics", "Timing"],
        ["Engine/Leases"] = ["Engine", "Nodes", "Nodes/Scripts", "Contracts", "Diagnostics", "Timing"],
        [LayerGraph.Root] = null, // composes everything
        ["Idempotency"] = ["Contracts", "Diagnostics", "Timing", LayerGraph.Root],
        ["Coordination"] = ["Contracts", LayerGraph.Root], // built on the public contracts and the public factory only
    };

    /// <summary>
    /// src/RedLockNet.Hosting, among its own folders (it may use any public core type; the compiler enforces that
    /// it sees nothing else).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]?> Hosting = new Dictionary<string, string[]?>(StringComparer.Ordinal)
    {
        ["Diagnostics"] = [],
        ["Timing"] = [],
        ["Election"] = ["Diagnostics", "Timing"],
        ["Cron"] = ["Election", "Diagnostics", "Timing"],
        ["DependencyInjection"] = ["Cron", "Election", "Diagnostics", "Timing"],
        ["HealthChecks"] = ["DependencyInjection", "Diagnostics"],
    };

    /// <summary>Core types only their own layer (and the composition root) may name.</summary>
    public static readonly IReadOnlyList<(string Type, string Layer)> CoreLayerPrivateTypes =
    [
        ("RedisLockNode", "Nodes"),
        ("RedLockHandle", "Engine/Leases"),
        ("Lease", "Engine/Leases"),
    ];

    public static void AssertNoCycles(LayerGraph graph)
    {
        var cycles = graph.FindCycles();
        if (cycles.Count > 0)
        {
            var lines = cycles.Select(c => $"cycle {string.Join(" -> ", c)}: "
                + string.Join("; ", c.Zip(c.Skip(1), (from, to) => $"{from} -> {to} via {graph.Evidence(from, to, most: 2)}")));
            Assert.Fail($"The layer graph has {cycles.Count} cycle(s):{Environment.NewLine}{string.Join(Environment.NewLine, lines)}");
        }
    }

    public static void AssertEdgesAllowed(LayerGraph graph, IReadOnlyDictionary<string, string[]?> allowed)
    {
        var forbidden = graph.ForbiddenEdges(allowed);
        if (forbidden.Count > 0)
        {
            Assert.Fail($"{forbidden.Count} dependency edge(s) not in the allowed table:{Environment.NewLine}{string.Join(Environment.NewLine, forbidden)}");
        }
    }

    public static void AssertLayerPrivate(LayerGraph graph, IEnumerable<(string Type, string Layer)> privateTypes)
    {
        var uses = privateTypes
            .SelectMany(p => graph.UsesOutside(p.Type, p.Layer, LayerGraph.Root).Select(use => $"{p.Type} (private to {p.Layer}) named in {use}"))
            .ToList();
        if (uses.Count > 0)
        {
            Assert.Fail($"Layer-private types named outside their layer:{Environment.NewLine}{string.Join(Environment.NewLine, uses)}");
        }
    }
}
