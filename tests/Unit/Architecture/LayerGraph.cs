using System.Text.RegularExpressions;

namespace RedLockNet.Tests.Unit.Architecture;

/// <summary>One C# file: its path relative to the project folder and its text.</summary>
internal sealed record SourceFile(string RelativePath, string Text);

/// <summary>A file in one layer naming a type declared in another layer (first occurrence in the file).</summary>
internal sealed record LayerReference(string File, int Line, string FromLayer, string ToLayer, string TypeName)
{
    public override string ToString() => $"{File}:{Line} {TypeName}";
}

/// <summary>
/// The folder dependency graph of one project, read from source text: a file's layer is its first folder
/// (Engine/Leases and Nodes/Scripts are layers of their own, files in the project folder form "(root)"); a
/// layer depends on another when one of its files names, as a whole word outside comments and strings, a type
/// declared in the other.
/// </summary>
internal sealed partial class LayerGraph
{
    public const string Root = "(root)";

    private static readonly string[] NestedLayers = ["Engine/Leases", "Nodes/Scripts"];

    // words that can follow "class", "struct" or "record" without naming a type ("where T : class where U : ...",
    // "if (record is null)", "record with { }")
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "abstract", "and", "as", "base", "bool", "break", "case", "catch", "checked", "class", "const", "continue",
        "default", "delegate", "do", "else", "enum", "event", "explicit", "extern", "false", "finally", "fixed", "for",
        "foreach", "get", "goto", "if", "implicit", "in", "init", "interface", "internal", "is", "lock", "new", "not",
        "notnull", "null", "object", "operator", "or", "out", "override", "params", "private", "protected", "public",
        "readonly", "record", "ref", "return", "sealed", "set", "sizeof", "stackalloc", "static", "string", "struct",
        "switch", "this", "throw", "true", "try", "typeof", "unchecked", "unmanaged", "unsafe", "using", "var",
        "virtual", "void", "volatile", "when", "where", "while", "with", "yield",
    };

    private readonly Dictionary<string, Dictionary<string, int>> _wordsByFile;

    private LayerGraph(
        SortedDictionary<string, SortedSet<string>> declaredTypes,
        SortedDictionary<string, SortedSet<string>> edges,
        List<LayerReference> references,
        Dictionary<string, string> layerByFile,
        Dictionary<string, Dictionary<string, int>> wordsByFile)
    {
        DeclaredTypes = declaredTypes;
        Edges = edges;
        References = references;
        LayerByFile = layerByFile;
        _wordsByFile = wordsByFile;
    }

    /// <summary>Layer name to the type names declared in it.</summary>
    public IReadOnlyDictionary<string, SortedSet<string>> DeclaredTypes { get; }

    /// <summary>Layer name to the layers it depends on; every layer with a .cs file is a key.</summary>
    public IReadOnlyDictionary<string, SortedSet<string>> Edges { get; }

    /// <summary>The evidence for each edge.</summary>
    public IReadOnlyList<LayerReference> References { get; }

    public IReadOnlyDictionary<string, string> LayerByFile { get; }

    public static string LayerOf(string relativePath)
    {
        var path = relativePath.Replace('\\', '/');
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return Root;
        }

        foreach (var nested in NestedLayers)
        {
            if (path.StartsWith(nested + "/", StringComparison.Ordinal))
            {
                return nested;
            }
        }

        return path[..slash];
    }

    public static LayerGraph Build(IEnumerable<SourceFile> files)
    {
        var declared = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var layerByFile = new Dictionary<string, string>(StringComparer.Ordinal);
        var wordsByFile = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var layer = LayerOf(file.RelativePath);
            var code = CSharpSource.StripCommentsAndStrings(file.Text);
            layerByFile[file.RelativePath] = layer;
            var words = CSharpSource.Words(code);
            foreach (var member in DeclaredMemberNames(code))
            {
                words.Remove(member); // inside its type, a simple name binds to the member, not to a type elsewhere
            }

            wordsByFile[file.RelativePath] = words;
            if (!declared.TryGetValue(layer, out var names))
            {
                declared[layer] = names = new SortedSet<string>(StringComparer.Ordinal);
            }

            names.UnionWith(DeclaredTypeNames(code));
        }

        var owners = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (layer, names) in declared)
        {
            foreach (var name in names)
            {
                if (!owners.TryGetValue(name, out var layers))
                {
                    owners[name] = layers = [];
                }

                layers.Add(layer);
            }
        }

        var edges = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var layer in declared.Keys)
        {
            edges[layer] = new SortedSet<string>(StringComparer.Ordinal);
        }

        var references = new List<LayerReference>();
        foreach (var (file, words) in wordsByFile.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            var layer = layerByFile[file];
            foreach (var (word, line) in words.OrderBy(w => w.Value).ThenBy(w => w.Key, StringComparer.Ordinal))
            {
                // a name the file's own layer declares means that type, not a namesake elsewhere
                if (declared[layer].Contains(word) || !owners.TryGetValue(word, out var targets))
                {
                    continue;
                }

                foreach (var target in targets)
                {
                    edges[layer].Add(target);
                    references.Add(new LayerReference(file, line, layer, target, word));
                }
            }
        }

        return new LayerGraph(declared, edges, references, layerByFile, wordsByFile);
    }

    /// <summary>Type names declared in code already stripped of comments and strings.</summary>
    public static IEnumerable<string> DeclaredTypeNames(string code)
    {
        foreach (Match match in TypeDeclaration().Matches(code))
        {
            var name = match.Groups["name"].Value.TrimStart('@');
            if (!Keywords.Contains(name))
            {
                yield return name;
            }
        }

        foreach (Match match in DelegateDeclaration().Matches(code))
        {
            yield return match.Groups["name"].Value.TrimStart('@');
        }
    }

    /// <summary>
    /// Names of properties, fields and methods declared with an access modifier in code already stripped
    /// (<c>public bool Fencing { get; set; }</c>); not when the member is named after its own type
    /// (<c>public Lease Lease</c>), where the type is used as well.
    /// </summary>
    public static IEnumerable<string> DeclaredMemberNames(string code)
    {
        foreach (Match match in MemberDeclaration().Matches(code))
        {
            var type = match.Groups["type"].Value;
            var name = match.Groups["name"].Value;
            if (!Regex.IsMatch(type, $@"(?<![\w]){Regex.Escape(name)}(?![\w])"))
            {
                yield return name;
            }
        }
    }

    /// <summary>Each cycle as the layers along it, first layer repeated at the end; empty when acyclic.</summary>
    public IReadOnlyList<IReadOnlyList<string>> FindCycles()
    {
        var cycles = new List<IReadOnlyList<string>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var component in StronglyConnectedComponents().Where(c => c.Count > 1))
        {
            // the shortest cycle through each layer of the component, each cycle once
            foreach (var layer in component.Order(StringComparer.Ordinal))
            {
                var cycle = CycleThrough(layer, component);
                var members = cycle.Skip(1).Order(StringComparer.Ordinal);
                if (seen.Add(string.Join(" ", members)))
                {
                    cycles.Add(cycle);
                }
            }
        }

        return cycles;
    }

    /// <summary>Edges missing from an allowed table (layer to the layers it may use; null: any layer).</summary>
    public IReadOnlyList<string> ForbiddenEdges(IReadOnlyDictionary<string, string[]?> allowed)
    {
        var forbidden = new List<string>();
        foreach (var (from, targets) in Edges)
        {
            foreach (var to in targets)
            {
                if (!allowed.TryGetValue(from, out var may))
                {
                    forbidden.Add($"{from} -> {to} (layer {from} is not in the allowed table; via {Evidence(from, to)})");
                }
                else if (may is not null && !may.Contains(to, StringComparer.Ordinal))
                {
                    forbidden.Add($"{from} -> {to} (via {Evidence(from, to)})");
                }
            }
        }

        return forbidden;
    }

    /// <summary>Files outside <paramref name="layers"/> that name <paramref name="typeName"/>.</summary>
    public IReadOnlyList<string> UsesOutside(string typeName, params string[] layers)
    {
        var uses = new List<string>();
        foreach (var (file, words) in _wordsByFile.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (!layers.Contains(LayerByFile[file], StringComparer.Ordinal) && words.TryGetValue(typeName, out var line))
            {
                uses.Add($"{file}:{line} ({LayerByFile[file]})");
            }
        }

        return uses;
    }

    public string Evidence(string from, string to, int most = 4)
    {
        var refs = References.Where(r => r.FromLayer == from && r.ToLayer == to).ToList();
        var shown = string.Join(", ", refs.Take(most));
        return refs.Count > most ? $"{shown}, +{refs.Count - most} more" : shown;
    }

    /// <summary>One line a layer: <c>Engine -> Contracts, Diagnostics</c>.</summary>
    public string Format()
    {
        var lines = Edges.Select(e => $"{e.Key} -> {(e.Value.Count == 0 ? "(nothing)" : string.Join(", ", e.Value))}");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>One line a layer: the type names it declares.</summary>
    public string FormatDeclaredTypes() =>
        string.Join(Environment.NewLine, DeclaredTypes.Select(d => $"{d.Key}: {string.Join(", ", d.Value)}"));

    // Tarjan's algorithm
    private List<List<string>> StronglyConnectedComponents()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var components = new List<List<string>>();
        var next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in Edges.TryGetValue(v, out var targets) ? targets : [])
            {
                if (!index.TryGetValue(w, out var indexOfW))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], indexOfW);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                components.Add(component);
            }
        }

        foreach (var v in Edges.Keys)
        {
            if (!index.ContainsKey(v))
            {
                Visit(v);
            }
        }

        return components;
    }

    // shortest way from start back to start inside its component (breadth first)
    private List<string> CycleThrough(string start, List<string> component)
    {
        var inside = component.ToHashSet(StringComparer.Ordinal);
        var cameFrom = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            var v = queue.Dequeue();
            foreach (var w in Edges[v].Where(inside.Contains))
            {
                if (w == start)
                {
                    var path = new List<string> { start };
                    for (var at = v; at != start; at = cameFrom[at])
                    {
                        path.Add(at);
                    }

                    path.Add(start);
                    path.Reverse();
                    return path;
                }

                if (cameFrom.TryAdd(w, v))
                {
                    queue.Enqueue(w);
                }
            }
        }

        throw new InvalidOperationException($"no cycle through {start}");
    }

    [GeneratedRegex(@"(?<![\w.@])(?:class|struct|interface|enum|record)\s+(?!class\b|struct\b)(?<name>@?[A-Za-z_]\w*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"(?<![\w.@])(?:public|private|protected|internal)\s+(?:(?:static|readonly|const|virtual|override|abstract|sealed|new|required|volatile|async|extern|unsafe|partial)\s+)*(?<type>[\w.<>\[\],?]+(?:\s*,\s*[\w.<>\[\]?]+)*)\s+(?<name>[A-Za-z_]\w*)\s*(?:\{|=>|=|;|\(|<)")]
    private static partial Regex MemberDeclaration();

    [GeneratedRegex(@"(?<![\w.@])delegate\s+[^;{}()=]+?\s(?<name>@?[A-Za-z_]\w*)\s*(?:<[^<>]*>)?\s*\(")]
    private static partial Regex DelegateDeclaration();
}
