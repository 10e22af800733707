namespace RedLockNet.TestRig;

/// <summary>Finds executables on <c>PATH</c>.</summary>
internal static class ExecutableLocator
{
    /// <summary>The full path of the first executable file called <paramref name="name"/> on <c>PATH</c>, or <see langword="null"/>.</summary>
    public static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH");
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (IsExecutableFile(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// The <c>dotnet</c> muxer: <c>DOTNET_HOST_PATH</c> when set, else this process when it is the muxer,
    /// else <c>PATH</c>, else <c>DOTNET_ROOT</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No muxer was found.</exception>
    public static string FindDotnet()
    {
        var hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && IsExecutableFile(hostPath))
        {
            return hostPath;
        }

        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        var onPath = Find("dotnet");
        if (onPath is not null)
        {
            return onPath;
        }

        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && IsExecutableFile(Path.Combine(root, "dotnet")))
        {
            return Path.Combine(root, "dotnet");
        }

        throw new InvalidOperationException("The 'dotnet' executable was not found (DOTNET_HOST_PATH, PATH, DOTNET_ROOT); it is needed to run the Garnet node host.");
    }

    private static bool IsExecutableFile(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }
}
