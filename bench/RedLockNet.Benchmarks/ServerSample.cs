namespace RedLockNet.Benchmarks;

/// <summary>
/// One redis-server's counters from its INFO, at one moment or as the difference between two: commands processed
/// (<c>total_commands_processed</c>), script calls (EVAL + EVALSHA from <c>commandstats</c>) and the CPU the server
/// process used (<c>used_cpu_user + used_cpu_sys</c>, every thread of it).
/// </summary>
internal readonly record struct ServerSample(long Commands, long ScriptCalls, double CpuSeconds)
{
    /// <summary>What the server did between <paramref name="earlier"/> and this sample.</summary>
    public ServerSample Since(ServerSample earlier) =>
        new(Commands - earlier.Commands, ScriptCalls - earlier.ScriptCalls, CpuSeconds - earlier.CpuSeconds);
}
