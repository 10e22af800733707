using System.Globalization;

namespace RedLockNet.Benchmarks;

/// <summary>
/// One measured window of the capacity mode, on one member: acquire + release pairs per second, the client's CPU per
/// pair, and each of the member's shards' CPU (per pair: that shard's CPU over every pair of the window, so the shares
/// add up to what a pair costs the servers).
/// </summary>
internal sealed record CapacityRound(double PairsPerSecond, double ClientMicrosPerPair, double ClientCpuPerSecond, double[] ShardMicrosPerPair, double[] ShardCpuPerSecond, double CommandsPerPair, long Failures)
{
    /// <summary>Server CPU a pair costs, summed over the shards: what it costs the shard that owns its key.</summary>
    public double ServerMicrosPerPair => ShardMicrosPerPair.Sum();

    /// <summary>The figures of a window that cost <paramref name="cost"/> (member 0) and completed <paramref name="pairs"/>.</summary>
    public static CapacityRound From(WindowCost cost, long pairs, long failures)
    {
        var shards = cost.Servers[0];
        double PerPair(double value) => pairs > 0 ? value / pairs : double.NaN;
        return new CapacityRound(
            pairs / cost.Elapsed.TotalSeconds,
            PerPair(cost.ClientCpu.TotalMicroseconds),
            cost.ClientCpuPerSecond,
            [.. shards.Select(s => PerPair(s.CpuSeconds * 1e6))],
            [.. Enumerable.Range(0, shards.Length).Select(s => cost.ServerCpuPerSecond(0, s))],
            PerPair(shards.Sum(s => s.Commands)),
            failures);
    }

    /// <summary>
    /// <c>2,345 pairs/s; client CPU 812.0 µs/pair (1,904 ms/s); server CPU 45.1 µs/pair = 15.0+15.1+15.0 per shard
    /// (35+35+35 ms/s); 3.0 commands/pair; failures 0</c>.
    /// </summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{PairsPerSecond:#,0} pairs/s; client CPU {ClientMicrosPerPair:0.0} µs/pair ({ClientCpuPerSecond:#,0} ms/s); " +
        $"server CPU {ServerMicrosPerPair:0.0} µs/pair{(ShardMicrosPerPair.Length > 1 ? " = " + Join(ShardMicrosPerPair, "0.0") + " per shard" : string.Empty)} " +
        $"({Join(ShardCpuPerSecond, "0")} ms/s); {CommandsPerPair:0.00} commands/pair; failures {Failures}");

    private static string Join(IEnumerable<double> values, string format) => string.Join("+", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture)));
}
