namespace RedLockNet.Benchmarks;

/// <summary>
/// What one window of a measurement cost: its length, this process's CPU, and each server's counter deltas as
/// <c>[member][shard]</c> (<see cref="MemberSet.Shards"/>).
/// </summary>
internal sealed record WindowCost(TimeSpan Elapsed, TimeSpan ClientCpu, ServerSample[][] Servers)
{
    /// <summary>Client CPU in milliseconds per second of the window.</summary>
    public double ClientCpuPerSecond => ClientCpu.TotalMilliseconds / Elapsed.TotalSeconds;

    /// <summary>
    /// Commands member <paramref name="member"/>'s servers processed per second, summed over its shards. Redis counts
    /// the commands a script runs (<c>redis.call</c>) as well as the script call itself.
    /// </summary>
    public double CommandsPerSecond(int member) => Servers[member].Sum(s => s.Commands) / Elapsed.TotalSeconds;

    /// <summary>Script calls (EVAL + EVALSHA) member <paramref name="member"/>'s servers served, summed over its shards.</summary>
    public long ScriptCalls(int member) => Servers[member].Sum(s => s.ScriptCalls);

    /// <summary>Server CPU of member <paramref name="member"/>, summed over its shards, in milliseconds per second of the window.</summary>
    public double ServerCpuPerSecond(int member) => Servers[member].Sum(s => s.CpuSeconds) * 1000 / Elapsed.TotalSeconds;

    /// <summary>Server CPU of one shard in milliseconds per second of the window.</summary>
    public double ServerCpuPerSecond(int member, int shard) => Servers[member][shard].CpuSeconds * 1000 / Elapsed.TotalSeconds;
}
