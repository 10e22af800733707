namespace RedLockNet.Tests.Unit.Architecture;

/// <summary>
/// The folders of src/RedLockNet and src/RedLockNet.Hosting are layers; these tests read the source and check
/// that dependencies between them run one way only, as <see cref="LayerRules"/> lists.
/// </summary>
public sealed class LayerTests(ITestOutputHelper output)
{
    private static readonly Lazy<LayerGraph> CoreGraph = new(() => LayerGraph.Build(ProjectSources("RedLockNet")));
    private static readonly Lazy<LayerGraph> HostingGraph = new(() => LayerGraph.Build(ProjectSources("RedLockNet.Hosting")));

    public static TheoryData<string> Projects => ["RedLockNet", "RedLockNet.Hosting"];

    [Theory]
    [MemberData(nameof(Projects))]
    public void Layer_graph_has_no_cycles(string project)
    {
        LayerRules.AssertNoCycles(Graph(project));
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void Every_layer_dependency_is_in_the_allowed_table(string project)
    {
        LayerRules.AssertEdgesAllowed(Graph(project), project == "RedLockNet" ? LayerRules.Core : LayerRules.Hosting);
    }

    [Fact]
    public void Layer_private_types_are_named_only_inside_their_layer_and_the_root()
    {
        LayerRules.AssertLayerPrivate(Graph("RedLockNet"), LayerRules.CoreLayerPrivateTypes);
    }

    private LayerGraph Graph(string project)
    {
        var graph = project == "RedLockNet" ? CoreGraph.Value : HostingGraph.Value;
        output.WriteLine($"src/{project} layer graph ({graph.LayerByFile.Count} files):");
        output.WriteLine(graph.Format());
        output.WriteLine("");
        output.WriteLine("types declared per layer:");
        output.WriteLine(graph.FormatDeclaredTypes());

        // a wrong root or an empty scan must not pass as "no cycles"
        Assert.True(graph.LayerByFile.Count >= 10, $"only {graph.LayerByFile.Count} .cs files found under src/{project}");
        Assert.Contains(graph.DeclaredTypes.Values, names => names.Count > 0);
        return graph;
    }

    private static List<SourceFile> ProjectSources(string project)
    {
        var folder = Path.Combine(RepositoryRoot(), "src", project);
        return Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(folder, path).Replace('\\', '/'))
            .Where(relative => !relative.Split('/').Any(segment => segment is "bin" or "obj"))
            .Order(StringComparer.Ordinal)
            .Select(relative => new SourceFile(relative, File.ReadAllText(Path.Combine(folder, relative))))
            .ToList();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RedLockNet.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds RedLockNet.sln");
    }
}
