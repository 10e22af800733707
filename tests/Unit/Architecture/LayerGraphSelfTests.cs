namespace RedLockNet.Tests.Unit.Architecture;

/// <summary>The layer checker itself, on in-memory source sets: it must fail on a broken layering.</summary>
public sealed class LayerGraphSelfTests
{
    [Theory]
    [InlineData("RedLockFactory.cs", "(root)")]
    [InlineData("Engine/Redlock.cs", "Engine")]
    [InlineData("Engine/Leases/Lease.cs", "Engine/Leases")]
    [InlineData("Engine\\Leases\\Lease.cs", "Engine/Leases")]
    [InlineData("Nodes/NodeSet.cs", "Nodes")]
    [InlineData("Nodes/Scripts/LockScript.cs", "Nodes/Scripts")]
    [InlineData("Nodes/Deeper/Still.cs", "Nodes")]
    public void A_file_belongs_to_its_first_folder_except_the_two_nested_layers(string path, string layer)
    {
        Assert.Equal(layer, LayerGraph.LayerOf(path));
    }

    [Fact]
    public void Comments_strings_chars_and_preprocessor_lines_are_stripped_but_interpolation_holes_are_kept()
    {
        const string code = """"
            #region Alpha
            // Alpha in a line comment
            /* Alpha in a
               block comment */
            /// <see cref="Alpha"/>
            var a = "Alpha \" Alpha";
            var b = @"Alpha "" Alpha";
            var c = $"{{Alpha}} {Beta.Name,5:Alpha} {(x ? "Alpha" : Gamma.Value)}";
            var d = '"'; var e = '\''; Delta.Go();
            var f = $$"""{Alpha} {{Epsilon.X}}""";
            """";

        var stripped = CSharpSource.StripCommentsAndStrings(code);
        var words = CSharpSource.Words(stripped);

        Assert.DoesNotContain("Alpha", words.Keys);
        Assert.Contains("Beta", words.Keys);
        Assert.Contains("Gamma", words.Keys);
        Assert.Contains("Delta", words.Keys);
        Assert.Contains("Epsilon", words.Keys);
        Assert.Equal(code.Count(ch => ch == '\n'), stripped.Count(ch => ch == '\n'));
        Assert.Equal(9, words["Delta"]);
    }

    [Fact]
    public void Declared_type_names_cover_every_kind_and_skip_constraints()
    {
        const string code = """
            public sealed class A<T> where T : class
            {
                internal record struct B(int X);
                private record C;
                private readonly record struct D;
                public interface IE { }
                public enum F { One }
                public delegate Task<int> G<TX>(TX x, CancellationToken ct);
                private struct H { }
                void M(object record) { if (record is null) { } _ = record with { }; }
            }
            """;

        string[] expected = ["A", "B", "C", "D", "IE", "F", "H", "G"];
        Assert.Equal(expected, LayerGraph.DeclaredTypeNames(CSharpSource.StripCommentsAndStrings(code)));
    }

    [Fact]
    public void A_member_named_like_a_type_of_another_layer_is_not_a_reference_unless_it_has_that_type()
    {
        var graph = LayerGraph.Build(
        [
            new("Engine/Fencing.cs", "internal static class Fencing { }"),
            new("Engine/Leases/Lease.cs", "internal sealed class Lease { }"),
            new("Contracts/Options.cs", "public sealed class Options\n{\n    public bool Fencing { get; set; }\n    void Check() { _ = Fencing; }\n}"),
            new("Nodes/Node.cs", "internal sealed class Node\n{\n    internal Lease Lease { get; }\n}"),
        ]);

        Assert.Empty(graph.Edges["Contracts"]);
        Assert.Equal(["Engine/Leases"], graph.Edges["Nodes"]);
    }

    [Fact]
    public void A_cycle_fails_the_check_and_the_message_names_it()
    {
        var graph = LayerGraph.Build(
        [
            new("Engine/Redlock.cs", "namespace N; internal sealed class Redlock { NodeSet? _nodes; }"),
            new("Nodes/NodeSet.cs", "namespace N; internal sealed class NodeSet { Quorum? _q; }"),
            new("Nodes/Quorum.cs", "namespace N; internal sealed class Quorum { Redlock? _back; }"),
            new("Timing/Clock.cs", "namespace N; internal static class Clock { }"),
        ]);

        var failure = Assert.ThrowsAny<Exception>(() => LayerRules.AssertNoCycles(graph));

        Assert.Contains("cycle Engine -> Nodes -> Engine", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Nodes/Quorum.cs:1 Redlock", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_longer_cycle_is_named_in_order()
    {
        var graph = LayerGraph.Build(
        [
            new("Contracts/A.cs", "class A { Timing.B? b; }"),
            new("Timing/B.cs", "class B { Diagnostics.C? c; }"),
            new("Diagnostics/C.cs", "class C { A? a; }"),
        ]);

        Assert.Equal("Contracts -> Timing -> Diagnostics -> Contracts", string.Join(" -> ", Assert.Single(graph.FindCycles())));
    }

    [Fact]
    public void A_forbidden_edge_fails_the_check_with_the_file_and_type_that_make_it()
    {
        var graph = LayerGraph.Build(
        [
            new("Engine/Redlock.cs", "internal sealed class Redlock\n{\n    private Lease? _lease; // Lease is a leases type\n}"),
            new("Engine/Leases/Lease.cs", "internal sealed class Lease { Redlock? _owner; }"),
        ]);

        var failure = Assert.ThrowsAny<Exception>(() => LayerRules.AssertEdgesAllowed(graph, LayerRules.Core));

        Assert.Contains("Engine -> Engine/Leases (via Engine/Redlock.cs:3 Lease)", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Engine/Leases -> Engine", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_layer_missing_from_the_table_fails_the_check()
    {
        var graph = LayerGraph.Build(
        [
            new("Sneaky/Thing.cs", "class Thing { Clock? c; }"),
            new("Timing/Clock.cs", "class Clock { }"),
        ]);

        var failure = Assert.ThrowsAny<Exception>(() => LayerRules.AssertEdgesAllowed(graph, LayerRules.Core));

        Assert.Contains("Sneaky -> Timing (layer Sneaky is not in the allowed table", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_layer_private_type_named_elsewhere_fails_the_check()
    {
        var graph = LayerGraph.Build(
        [
            new("Nodes/RedisLockNode.cs", "internal sealed class RedisLockNode { }"),
            new("Engine/Redlock.cs", "class Redlock\n{\n    RedisLockNode? _n;\n}"),
            new("RedLockFactory.cs", "class RedLockFactory { RedisLockNode? _n; }"),
        ]);

        var failure = Assert.ThrowsAny<Exception>(() => LayerRules.AssertLayerPrivate(graph, LayerRules.CoreLayerPrivateTypes));

        Assert.Contains("RedisLockNode (private to Nodes) named in Engine/Redlock.cs:3 (Engine)", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("RedLockFactory.cs", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_layering_that_follows_the_table_passes_every_check_and_prints_one_line_a_layer()
    {
        var graph = LayerGraph.Build(
        [
            new("Timing/Clock.cs", "internal static class Clock { }"),
            new("Contracts/Options.cs", "public sealed class Options { TimeSpan T => Clock.Now; }"),
            new("Nodes/Node.cs", "internal sealed class Node { Options? _o; } // Redlock in a comment"),
            new("Engine/Redlock.cs", "internal sealed class Redlock { Node? _n; string S = \"Lease\"; }"),
            new("Engine/Leases/Lease.cs", "internal sealed class Lease { Redlock? _r; }"),
            new("Factory.cs", "public sealed class Factory { Lease? _l; Redlock? _r; }"),
        ]);

        LayerRules.AssertNoCycles(graph);
        LayerRules.AssertEdgesAllowed(graph, LayerRules.Core);
        LayerRules.AssertLayerPrivate(graph, LayerRules.CoreLayerPrivateTypes);
        Assert.Equal(
            string.Join(Environment.NewLine,
                "(root) -> Engine, Engine/Leases",
                "Contracts -> Timing",
                "Engine -> Nodes",
                "Engine/Leases -> Engine",
                "Nodes -> Contracts",
                "Timing -> (nothing)"),
            graph.Format());
    }
}
