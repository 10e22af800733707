using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace RedLockNet.Chaos;

/// <summary>A RedLockNet.ChaosClient process whose JSON events go into a <see cref="History"/>; disposing it kills it.</summary>
public sealed class ChaosClientProcess : IAsyncDisposable
{
    private const string AssemblyFileName = "RedLockNet.ChaosClient.dll";
    private readonly Process process;
    private readonly History history;
    private readonly Action<ChaosEvent>? onEvent;
    private readonly TaskCompletionSource exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> stderr = [];

    private ChaosClientProcess(Process process, History history, Action<ChaosEvent>? onEvent)
    {
        this.process = process;
        this.history = history;
        this.onEvent = onEvent;
    }

    public int ProcessId => process.Id;

    public string StandardError
    {
        get
        {
            lock (stderr)
            {
                return string.Join('\n', stderr);
            }
        }
    }

    public static ChaosClientProcess Start(IEnumerable<string> arguments, History history, Action<ChaosEvent>? onEvent = null)
    {
        var start = new ProcessStartInfo(FindDotnet())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Find());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var client = new ChaosClientProcess(process, history, onEvent);
        process.OutputDataReceived += (_, e) => client.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (client.stderr)
                {
                    client.stderr.Add(e.Data);
                }
            }
        };
        process.Exited += (_, _) => client.exited.TrySetResult();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return client;
    }

    /// <summary>SIGSTOP.</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>SIGCONT.</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        var done = await Task.WhenAny(exited.Task, Task.Delay(timeout));
        return done == exited.Task;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                await SignalAsync("-CONT");
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
    }

    private static async Task SignalAsync(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { signal, pid.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        await kill.WaitForExitAsync();
    }

    private Task SignalAsync(string signal) => SignalAsync(process.Id, signal);

    private void OnLine(string? line)
    {
        if (string.IsNullOrWhiteSpace(line) || line[0] != '{')
        {
            return;
        }

        var e = JsonSerializer.Deserialize<ChaosEvent>(line);
        if (e is not null)
        {
            history.Add(e);
            onEvent?.Invoke(e);
        }
    }

    private static string FindDotnet()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        return !string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, "dotnet")) ? Path.Combine(root, "dotnet") : "dotnet";
    }

    /// <summary>The ChaosClient built in the test assembly's configuration, else in any (as the rig finds the node host).</summary>
    private static string Find()
    {
        var baseDirectory = AppContext.BaseDirectory;
        DirectoryInfo? root = null;
        for (var d = new DirectoryInfo(baseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "RedLockNet.sln")))
            {
                root = d;
                break;
            }
        }

        if (root is null)
        {
            throw new FileNotFoundException($"RedLockNet.sln not found above '{baseDirectory}'.");
        }

        var parts = baseDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var bin = Array.LastIndexOf(parts, "bin");
        var preferred = bin >= 0 && bin + 1 < parts.Length ? parts[bin + 1] : "Debug";
        var candidates = new[] { preferred, "Debug", "Release" }
            .Distinct(StringComparer.Ordinal)
            .Select(c => Path.Combine(root.FullName, "tests", "ChaosClient", "bin", c, "net10.0", AssemblyFileName));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"{AssemblyFileName} not built; run dotnet build first.", AssemblyFileName);
    }
}
