namespace RedLockNet.TestRig;

/// <summary>Finds the built RedLockNet.NodeHost.dll (the Garnet host) in the repository.</summary>
internal static class NodeHostLocator
{
    private const string AssemblyFileName = "RedLockNet.NodeHost.dll";
    private const string TargetFramework = "net10.0";
    private static readonly string[] SolutionFileNames = ["RedLockNet.sln", "RedLockNet.slnx"];
    private static readonly string[] Configurations = ["Debug", "Release"];

    /// <summary>The node host built in the same configuration as the running test assembly, else in any configuration.</summary>
    /// <exception cref="FileNotFoundException">The repository root or the built node host was not found.</exception>
    public static string Find() => Find(AppContext.BaseDirectory);

    /// <summary>As <see cref="Find()"/>, starting from <paramref name="baseDirectory"/>.</summary>
    internal static string Find(string baseDirectory)
    {
        var root = FindRepositoryRoot(baseDirectory)
            ?? throw new FileNotFoundException($"Could not find {SolutionFileNames[0]} in '{baseDirectory}' or any folder above it, so the Garnet node host cannot be located.");
        var bin = Path.Combine(root, "tests", "NodeHost", "bin");
        var preferred = ConfigurationOf(baseDirectory);
        var candidates = Configurations
            .Prepend(preferred)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .Select(configuration => Path.Combine(bin, configuration, TargetFramework, AssemblyFileName));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"{AssemblyFileName} was not found under '{bin}' ({preferred ?? "Debug or Release"}/{TargetFramework}); build the solution first (dotnet build).", AssemblyFileName);
    }

    private static string? FindRepositoryRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (SolutionFileNames.Any(name => File.Exists(Path.Combine(directory.FullName, name))))
            {
                return directory.FullName;
            }
        }

        return null;
    }

    /// <summary>The folder after the last <c>bin</c> in an output path such as <c>.../bin/Release/net10.0/</c>.</summary>
    private static string? ConfigurationOf(string outputDirectory)
    {
        var parts = outputDirectory.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
        var bin = Array.LastIndexOf(parts, "bin");
        return bin >= 0 && bin + 1 < parts.Length ? parts[bin + 1] : null;
    }
}
