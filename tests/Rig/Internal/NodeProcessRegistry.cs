using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace RedLockNet.TestRig;

/// <summary>
/// Remembers every node process this test process started so none outlives it: they are killed on
/// <see cref="AppDomain.ProcessExit"/> and on SIGINT/SIGTERM/SIGQUIT/SIGHUP, and each has a pidfile
/// (<c>&lt;ownerPid&gt;-&lt;nodePid&gt;</c>, holding the node's port and data folder) so that a later run can kill
/// the nodes of an owner that died without cleaning up, and delete their data folders
/// (<see cref="SweepOrphans(Action{string})"/>).
/// </summary>
internal static class NodeProcessRegistry
{
    /// <summary>The folder holding the pidfiles.</summary>
    public static readonly string PidFolder = Path.Combine(Path.GetTempPath(), "redlocknet-test-nodes");

    private static readonly ConcurrentDictionary<int, (Process Process, string DataDirectory)> Live = new();
    private static readonly Lock HookGate = new();
    private static List<PosixSignalRegistration>? signalHooks;

    /// <summary>Records a started node process and writes its pidfile.</summary>
    public static void Register(Process process, int port, string dataDirectory)
    {
        EnsureExitHooks();
        Live[process.Id] = (process, dataDirectory);
        Directory.CreateDirectory(PidFolder);
        File.WriteAllLines(PidFile(PidFolder, Environment.ProcessId, process.Id), [port.ToString(CultureInfo.InvariantCulture), dataDirectory]);
    }

    /// <summary>Forgets a node process (it was killed or stopped) and deletes its pidfile.</summary>
    public static void Unregister(int pid)
    {
        Live.TryRemove(pid, out _);
        TryDelete(PidFile(PidFolder, Environment.ProcessId, pid));
    }

    /// <summary>Kills the nodes of owners that are gone, and deletes their pidfiles.</summary>
    public static int SweepOrphans(Action<string> log) => SweepOrphans(PidFolder, log);

    /// <summary>
    /// Kills (SIGKILL) every node listed in <paramref name="folder"/> whose owner process no longer exists and
    /// that still looks like one of our nodes, then deletes those stale pidfiles and the nodes' data folders.
    /// </summary>
    /// <returns>How many processes were killed.</returns>
    internal static int SweepOrphans(string folder, Action<string> log)
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists(folder))
        {
            return 0;
        }

        var killed = 0;
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            if (!TryParsePidFileName(Path.GetFileName(file), out var owner, out var node) || PosixSignals.Exists(owner))
            {
                continue;
            }

            var (port, dataDirectory) = ReadPidFile(file);
            if (LooksLikeNode(node, port) && PosixSignals.Send(node, PosixSignals.SigKill))
            {
                killed++;
                log($"[rig] killed orphaned test node pid {node} (its owner pid {owner} is gone)");
            }

            DeleteDataDirectory(dataDirectory);
            TryDelete(file);
        }

        return killed;
    }

    /// <summary>The pidfile path for a node of an owner.</summary>
    internal static string PidFile(string folder, int ownerPid, int nodePid) =>
        Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{ownerPid}-{nodePid}"));

    /// <summary>
    /// Whether <paramref name="pid"/> still runs redis-server or the Garnet node host and, when known, on
    /// <paramref name="port"/> (redis-server's title reads <c>redis-server 127.0.0.1:port</c>, the host's last
    /// argument is the port), so that a recycled pid is never killed.
    /// </summary>
    internal static bool LooksLikeNode(int pid, string? port)
    {
        var commandLine = PosixSignals.CommandLine(pid);
        var isServer = commandLine.Contains("redis-server", StringComparison.Ordinal)
            || commandLine.Contains("RedLockNet.NodeHost", StringComparison.Ordinal);
        return isServer && (string.IsNullOrEmpty(port) || commandLine
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Any(word => word == port || word.EndsWith($":{port}", StringComparison.Ordinal)));
    }

    private static bool TryParsePidFileName(string name, out int owner, out int node)
    {
        owner = node = 0;
        var dash = name.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && int.TryParse(name.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out owner)
            && int.TryParse(name.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out node)
            && owner > 0
            && node > 0;
    }

    /// <summary>The port (digits only) and data folder a pidfile holds; either may be missing.</summary>
    private static (string? Port, string? DataDirectory) ReadPidFile(string file)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, null);
        }

        var port = lines.Length > 0 && int.TryParse(lines[0], NumberStyles.None, CultureInfo.InvariantCulture, out _) ? lines[0] : null;
        return (port, lines.Length > 1 ? lines[1] : null);
    }

    /// <summary>Deletes a node's data folder, but only one that the rig creates (<c>&lt;temp&gt;/redlocknet-node-*</c>).</summary>
    internal static void DeleteDataDirectory(string? path)
    {
        if (string.IsNullOrEmpty(path)
            || !Path.GetFileName(path).StartsWith(NodeProcess.DataDirectoryPrefix, StringComparison.Ordinal)
            || !string.Equals(Path.GetDirectoryName(path), Path.TrimEndingDirectorySeparator(Path.GetTempPath()), StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort: it only ever holds an empty server's files
        }
    }

    private static void EnsureExitHooks()
    {
        lock (HookGate)
        {
            if (signalHooks is not null)
            {
                return;
            }

            AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
            signalHooks = [];
            if (OperatingSystem.IsLinux())
            {
                // The handlers do not cancel the signal, so its default action (terminating) still follows.
                foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGQUIT, PosixSignal.SIGHUP })
                {
                    signalHooks.Add(PosixSignalRegistration.Create(signal, _ => KillAll()));
                }
            }
        }
    }

    private static void KillAll()
    {
        foreach (var (pid, (process, dataDirectory)) in Live)
        {
            try
            {
                process.Kill();
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // already exited or disposed
            }

            Unregister(pid);
            DeleteDataDirectory(dataDirectory);
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort; a later sweep removes it
        }
    }
}
