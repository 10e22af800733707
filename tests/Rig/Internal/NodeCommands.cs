using System.Diagnostics;
using System.Globalization;

namespace RedLockNet.TestRig;

/// <summary>How to launch one kind of server process on a given port.</summary>
internal interface INodeCommand
{
    /// <summary>A short name for logs and errors.</summary>
    string Name { get; }

    /// <summary>How long a fresh server may take to answer <c>PING</c>.</summary>
    TimeSpan ReadyTimeout { get; }

    /// <summary>The program and arguments for a server on 127.0.0.1:<paramref name="port"/> using <paramref name="dataDirectory"/>.</summary>
    ProcessStartInfo CreateStartInfo(int port, string dataDirectory);
}

/// <summary>Launches a local <c>redis-server</c> with persistence off.</summary>
internal sealed class RedisServerCommand : INodeCommand
{
    /// <summary>The executable looked up on <c>PATH</c>.</summary>
    public const string ExecutableName = "redis-server";

    private readonly string executable = ExecutableLocator.Find(ExecutableName)
        ?? throw new InvalidOperationException($"'{ExecutableName}' was not found on PATH; install it (e.g. apt-get install redis-server) or set {NodeBackendSelector.EnvironmentVariable}=garnet.");

    /// <inheritdoc />
    public string Name => ExecutableName;

    /// <inheritdoc />
    public TimeSpan ReadyTimeout => TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public ProcessStartInfo CreateStartInfo(int port, string dataDirectory)
    {
        var info = new ProcessStartInfo(executable);
        string[] arguments =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--save", string.Empty,
            "--appendonly", "no",
            "--protected-mode", "no",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--dir", dataDirectory,
        ];
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }
}

/// <summary>Launches the Garnet node host (<c>dotnet RedLockNet.NodeHost.dll &lt;port&gt;</c>); the muxer runs it in its own process, so signals reach the server.</summary>
internal sealed class GarnetCommand : INodeCommand
{
    private readonly string dotnet = ExecutableLocator.FindDotnet();
    private readonly string nodeHost = NodeHostLocator.Find();

    /// <inheritdoc />
    public string Name => "Garnet";

    /// <inheritdoc />
    public TimeSpan ReadyTimeout => TimeSpan.FromSeconds(20);

    /// <inheritdoc />
    public ProcessStartInfo CreateStartInfo(int port, string dataDirectory) =>
        new(dotnet) { ArgumentList = { nodeHost, port.ToString(CultureInfo.InvariantCulture) } };
}
