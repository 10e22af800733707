using System.Reflection;
using OpenTelemetry.Trace;
using RedLockNet.Hosting.Election;

namespace RedLockNet.Tests.Unit.Architecture;

/// <summary>Which packages each shipped assembly may pull in: OpenTelemetry stays out of the core and Hosting.</summary>
public sealed class AssemblyReferenceTests
{
    [Fact]
    public void Core_and_Hosting_do_not_reference_OpenTelemetry()
    {
        Assert.DoesNotContain(NonFramework(typeof(RedLockFactory).Assembly), name => name.StartsWith("OpenTelemetry", StringComparison.Ordinal));
        Assert.DoesNotContain(NonFramework(typeof(LeaderElector).Assembly), name => name.StartsWith("OpenTelemetry", StringComparison.Ordinal));
    }

    [Fact]
    public void The_OpenTelemetry_package_needs_only_the_core_and_the_OpenTelemetry_API()
    {
        // the source and meter name is a constant, compiled in: the reference to the core may not show in the metadata
        var references = NonFramework(typeof(RedLockTracerProviderBuilderExtensions).Assembly);
        Assert.Subset(new HashSet<string>(StringComparer.Ordinal) { "OpenTelemetry.Api", "RedLockNet" }, references.ToHashSet(StringComparer.Ordinal));
        Assert.Contains("OpenTelemetry.Api", references);
    }

    private static List<string> NonFramework(Assembly assembly) =>
        [.. assembly.GetReferencedAssemblies()
            .Select(a => a.Name!)
            .Where(n => n is not ("System" or "netstandard" or "mscorlib") && !n.StartsWith("System.", StringComparison.Ordinal) && !n.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
}
