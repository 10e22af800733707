using System.Globalization;

namespace RedLockNet.Benchmarks;

/// <summary>
/// The capacity mode's summary of one member shape: every figure as median (min–max) over the rounds, then the model
/// line that turns the measured server CPU per pair into a capacity estimate for shards on separate machines.
/// </summary>
internal static class CapacityReport
{
    public static void Print(MemberSet members, IReadOnlyList<CapacityRound> rounds, TimeSpan window, string? firstFailure)
    {
        var shards = members.Shards[0].Count;
        var perShard = Enumerable.Range(0, shards).Select(s => Spread.Format(rounds.Select(r => r.ShardMicrosPerPair[s]), "0.0", " µs")).ToArray();
        var shardLoad = Enumerable.Range(0, shards).Select(s => Spread.Format(rounds.Select(r => r.ShardCpuPerSecond[s]), "0", " ms/s")).ToArray();
        var split = shards > 1 ? $", per shard {string.Join(" / ", perShard)} per pair" : string.Empty;
        var first = firstFailure is null ? string.Empty : $" (first: {firstFailure})";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{members.Label}, median (min–max) of {rounds.Count} rounds of {window.TotalSeconds:0} s: " +
            $"{Spread.Format(rounds.Select(r => r.PairsPerSecond), "#,0", " pairs/s")}; " +
            $"client CPU {Spread.Format(rounds.Select(r => r.ClientMicrosPerPair), "0.0", " µs/pair")}, {Spread.Format(rounds.Select(r => r.ClientCpuPerSecond), "#,0", " ms/s")}; " +
            $"server CPU {Spread.Format(rounds.Select(r => r.ServerMicrosPerPair), "0.0", " µs/pair")} in all{split}, {string.Join(" / ", shardLoad)} per shard; " +
            $"{Spread.Format(rounds.Select(r => r.CommandsPerPair), "0.00", " commands/pair")}; failures {rounds.Sum(r => r.Failures)}{first}"));
        Console.WriteLine(Model(shards, rounds));
    }

    /// <summary>
    /// Redis runs a shard's commands on one thread, so a shard on its own machine saturates when that thread is busy:
    /// a pair costs the shard that owns its key <c>c</c> = the sum of the shards' per-pair shares, one shard serves at
    /// most 1/c pairs per second of its own, and S shards about S/c, while the clients can issue 1/(client CPU per pair)
    /// per core. Medians over the rounds.
    /// </summary>
    private static string Model(int shards, IReadOnlyList<CapacityRound> rounds)
    {
        var server = Spread.Median(rounds.Select(r => r.ServerMicrosPerPair));
        var client = Spread.Median(rounds.Select(r => r.ClientMicrosPerPair));
        var busiest = Spread.Median(rounds.Select(r => r.ShardMicrosPerPair.Max()));
        var perShard = 1e6 / server;
        var skew = shards > 1
            ? string.Create(CultureInfo.InvariantCulture, $"; with this run's {shards} shards the busiest took {busiest:0.0} µs per pair of all pairs, so it saturates first, at {1e6 / busiest:#,0} pairs/s")
            : string.Empty;
        return string.Create(CultureInfo.InvariantCulture,
            $"  model: a pair costs the shard that owns its key {server:0.0} µs of server CPU, so one shard on its own core serves at most ~{perShard:#,0} pairs/s; " +
            $"with S shards on separate machines capacity ≈ S × {perShard:#,0} pairs/s (S = 3: {3 * perShard:#,0}){skew}; " +
            $"bounded by client CPU: {client:0.0} µs/pair = {1e6 / client:#,0} pairs/s per client core (this machine: {Environment.ProcessorCount} cores shared by client and servers)");
    }
}
