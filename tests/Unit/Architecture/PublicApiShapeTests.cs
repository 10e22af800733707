using System.Reflection;
using System.Runtime.CompilerServices;
using OpenTelemetry.Trace;
using RedLockNet.Hosting.Election;

namespace RedLockNet.Tests.Unit.Architecture;

/// <summary>Rules for the shape of the public API of RedLockNet, RedLockNet.Hosting and RedLockNet.OpenTelemetry, checked by reflection.</summary>
public sealed class PublicApiShapeTests
{
    private static readonly Assembly[] Assemblies =
        [typeof(RedLockFactory).Assembly, typeof(LeaderElector).Assembly, typeof(RedLockTracerProviderBuilderExtensions).Assembly];

    /// <summary>Public classes meant to be derived from; every other public class is sealed, static or abstract.</summary>
    private static readonly Type[] MeantToBeDerivedFrom = [typeof(RedLockException)];

    /// <summary>Results only the library creates.</summary>
    private static readonly Type[] ResultTypes = [typeof(AcquireAttempt), typeof(LockRecordWrite), typeof(LockRecordRead), typeof(NodeStatus)];

    private static IEnumerable<Type> PublicTypes =>
        Assemblies.SelectMany(a => a.GetExportedTypes()).OrderBy(t => t.FullName, StringComparer.Ordinal);

    [Fact]
    public void Public_classes_are_sealed_static_or_abstract_unless_meant_to_be_derived_from()
    {
        var open = PublicTypes
            .Where(t => t.IsClass && !t.IsSealed && !t.IsAbstract && !MeantToBeDerivedFrom.Contains(t))
            .Select(t => t.FullName!)
            .ToList();

        AssertNone(open, "public classes that are neither sealed, static nor abstract (seal them, or add them to MeantToBeDerivedFrom)");
    }

    [Fact]
    public void Lock_handles_have_no_public_constructor()
    {
        var constructible = PublicTypes
            .Where(t => typeof(ILockHandle).IsAssignableFrom(t) && !t.IsInterface)
            .SelectMany(t => t.GetConstructors(BindingFlags.Public | BindingFlags.Instance))
            .Select(Signature)
            .ToList();

        AssertNone(constructible, "public constructors on ILockHandle implementations (a handle comes only from an acquire)");
    }

    [Fact]
    public void Result_types_have_no_public_constructor()
    {
        var constructible = ResultTypes
            .SelectMany(t => t.GetConstructors(BindingFlags.Public | BindingFlags.Instance))
            .Select(Signature)
            .ToList();

        AssertNone(constructible, "public constructors on result types (only the library reports results)");
    }

    [Fact]
    public void Public_async_methods_take_a_cancellation_token()
    {
        var missing = new List<string>();
        foreach (var type in PublicTypes)
        {
            var methods = type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Where(m => !m.IsSpecialName && IsAwaitable(m.ReturnType))
                .ToList();
            foreach (var method in methods.Where(m => !TakesCancellationToken(m)))
            {
                var allowed = method.Name == nameof(IAsyncDisposable.DisposeAsync)
                    || (method.IsDefined(typeof(ExtensionAttribute))
                        && methods.Any(other => other != method && other.Name == method.Name && TakesCancellationToken(other)));
                if (!allowed)
                {
                    missing.Add(Signature(method));
                }
            }
        }

        AssertNone(missing, "public async methods without a CancellationToken parameter");
    }

    private static void AssertNone(List<string> violations, string what)
    {
        Assert.True(violations.Count == 0, $"{violations.Count} {what}:{Environment.NewLine}{string.Join(Environment.NewLine, violations)}");
    }

    private static bool TakesCancellationToken(MethodBase method) =>
        method.GetParameters().Any(p => p.ParameterType == typeof(CancellationToken));

    private static bool IsAwaitable(Type type) =>
        type == typeof(Task) || type == typeof(ValueTask)
        || (type.IsGenericType && type.GetGenericTypeDefinition() is var definition
            && (definition == typeof(Task<>) || definition == typeof(ValueTask<>)));

    private static string Signature(MethodBase method) =>
        $"{method.DeclaringType!.FullName}.{(method.IsConstructor ? "ctor" : method.Name)}({string.Join(", ", method.GetParameters().Select(p => TypeName(p.ParameterType)))})";

    private static string TypeName(Type type) =>
        type.IsGenericType
            ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>"
            : type.Name;
}
