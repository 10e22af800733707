using System.Diagnostics;

namespace RedLockNet.Benchmarks;

/// <summary>
/// One reading of what a measurement has cost so far: this process's CPU time (every thread, user and kernel) and
/// every server's INFO counters, taken together. Two readings make a <see cref="WindowCost"/>.
/// </summary>
internal sealed record CostSnapshot(long Timestamp, TimeSpan ClientCpu, ServerSample[][] Servers)
{
    /// <summary>Reads the servers through <paramref name="stats"/>, then this process's CPU and the clock.</summary>
    public static async Task<CostSnapshot> TakeAsync(ServerStats stats)
    {
        var servers = await stats.SampleAsync();
        return new CostSnapshot(Stopwatch.GetTimestamp(), Environment.CpuUsage.TotalTime, servers);
    }

    /// <summary>What the window from <paramref name="earlier"/> to this reading cost.</summary>
    public WindowCost Since(CostSnapshot earlier) => new(
        Stopwatch.GetElapsedTime(earlier.Timestamp, Timestamp),
        ClientCpu - earlier.ClientCpu,
        [.. Servers.Select((shards, m) => shards.Select((sample, s) => sample.Since(earlier.Servers[m][s])).ToArray())]);
}
