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

    /// <summary>The TLS and ACL files the server is started with, which the readiness probe needs too; <see langword="null"/> for an open server.</summary>
    SecurityFiles? Security => null;
}

/// <summary>
/// Launches a local <c>redis-server</c> with persistence off (TLS only and with an ACL file when <paramref name="security"/>
/// says so; in cluster mode when <paramref name="clusterEnabled"/>, with its cluster file in the data directory, or in
/// <paramref name="clusterConfigDirectory"/> (one per port) so that a restart, which gets a fresh data directory,
/// comes back as the same cluster node owning the same slots, with no data: a shard restarted without persistence).
/// </summary>
internal sealed class RedisServerCommand(SecurityFiles? security = null, bool clusterEnabled = false, string? clusterConfigDirectory = null) : INodeCommand
{
    /// <summary>The executable looked up on <c>PATH</c>.</summary>
    public const string ExecutableName = "redis-server";

    private readonly string executable = ExecutableLocator.Find(ExecutableName)
        ?? throw new InvalidOperationException($"'{ExecutableName}' was not found on PATH; install it (e.g. apt-get install redis-server) or set {NodeBackendSelector.EnvironmentVariable}=garnet.");

    /// <inheritdoc />
    public string Name => ExecutableName;

    /// <inheritdoc />
    public SecurityFiles? Security => security;

    /// <inheritdoc />
    public TimeSpan ReadyTimeout => TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public ProcessStartInfo CreateStartInfo(int port, string dataDirectory)
    {
        var info = new ProcessStartInfo(executable);
        var portText = port.ToString(CultureInfo.InvariantCulture);
        string[] listen = security is { Security.Tls: true } tls
            ?
            [
                "--port", "0", "--tls-port", portText,
                "--tls-cert-file", tls.ServerCertificatePath, "--tls-key-file", tls.ServerKeyPath,
                "--tls-ca-cert-file", tls.CaCertificatePath!, "--tls-auth-clients", "no",
            ]
            : ["--port", portText];
        string[] acl = security?.AclFilePath is { } aclFile ? ["--aclfile", aclFile] : [];
        string[] arguments =
        [
            .. listen,
            .. acl,
            "--bind", "127.0.0.1",
            "--save", string.Empty,
            "--appendonly", "no",
            "--protected-mode", "no",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--dir", dataDirectory,
            .. clusterEnabled ? (string[])["--cluster-enabled", "yes", "--cluster-config-file", ClusterConfigFile(port), "--cluster-node-timeout", "2000"] : [],
        ];
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    private string ClusterConfigFile(int port) =>
        clusterConfigDirectory is null ? "nodes.conf" : Path.Combine(clusterConfigDirectory, string.Create(CultureInfo.InvariantCulture, $"nodes-{port}.conf"));
}

/// <summary>
/// Launches the Garnet node host (<c>dotnet RedLockNet.NodeHost.dll &lt;port&gt; [garnet options]</c>); the muxer runs it
/// in its own process, so signals reach the server. TLS (<c>--tls</c> with the PFX) and ACL (<c>--auth Acl</c>) when
/// <paramref name="security"/> says so.
/// </summary>
internal sealed class GarnetCommand(SecurityFiles? security = null) : INodeCommand
{
    private readonly string dotnet = ExecutableLocator.FindDotnet();
    private readonly string nodeHost = NodeHostLocator.Find();

    /// <inheritdoc />
    public string Name => "Garnet";

    /// <inheritdoc />
    public TimeSpan ReadyTimeout => TimeSpan.FromSeconds(20);

    /// <inheritdoc />
    public SecurityFiles? Security => security;

    /// <inheritdoc />
    public ProcessStartInfo CreateStartInfo(int port, string dataDirectory)
    {
        var info = new ProcessStartInfo(dotnet) { ArgumentList = { nodeHost, port.ToString(CultureInfo.InvariantCulture) } };
        string[] tls = security is { Security.Tls: true } files
            ? ["--tls", "--cert-file-name", files.ServerPfxPath, "--cert-password", files.ServerPfxPassword, "--client-certificate-required", "false"]
            : [];
        string[] acl = security?.AclFilePath is { } aclFile ? ["--auth", "Acl", "--acl-file", aclFile] : [];
        foreach (var argument in tls.Concat(acl))
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }
}
