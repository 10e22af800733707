using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RedLockNet.TestRig;

/// <summary>Sends POSIX signals and reads process state on Linux.</summary>
internal static partial class PosixSignals
{
    /// <summary>SIGKILL on Linux.</summary>
    public const int SigKill = 9;

    /// <summary>SIGTERM on Linux.</summary>
    public const int SigTerm = 15;

    /// <summary>SIGCONT on Linux.</summary>
    public const int SigCont = 18;

    /// <summary>SIGSTOP on Linux.</summary>
    public const int SigStop = 19;

    private const int NoSuchProcess = 3; // ESRCH

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; returns <see langword="false"/> when the process no longer exists.</summary>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <exception cref="Win32Exception">kill(2) failed for another reason.</exception>
    public static bool Send(int pid, int signal)
    {
        EnsureLinux();
        if (Kill(pid, signal) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == NoSuchProcess ? false : throw new Win32Exception(errno, $"kill({pid}, {signal}) failed");
    }

    /// <summary>Whether a process with this id exists (a zombie counts as existing).</summary>
    public static bool Exists(int pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>The state letter from <c>/proc/&lt;pid&gt;/stat</c> (R, S, T, Z, ...), or <see langword="null"/> when the process is gone.</summary>
    public static char? State(int pid)
    {
        EnsureLinux();
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) S ...": comm may itself contain ") ", so look after the last one.
        var end = stat.LastIndexOf(')');
        return end >= 0 && end + 2 < stat.Length ? stat[end + 2] : null;
    }

    /// <summary>The NUL-separated command line of a process, with NULs turned into spaces; empty when it is gone.</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    /// <summary>Waits (bounded) until the process is in, or out of, the stopped state.</summary>
    /// <returns><see langword="true"/> when the wanted state was seen before <paramref name="timeout"/>; <see langword="false"/> on timeout or when the process is gone.</returns>
    public static async Task<bool> WaitForStoppedAsync(int pid, bool stopped, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var state = State(pid);
            if (state is null or 'Z' or 'X')
            {
                return false;
            }

            if ((state is 'T' or 't') == stopped)
            {
                return true;
            }

            if (clock.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(5);
        }
    }

    private static void EnsureLinux()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The test rig sends POSIX signals with Linux signal numbers; it only supports Linux.");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
