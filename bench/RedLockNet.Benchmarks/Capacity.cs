using System.Globalization;

namespace RedLockNet.Benchmarks;

/// <summary>
/// Not a BenchmarkDotNet benchmark: how many acquire + release pairs per second one Redlock member serves, when that
/// member is one standalone redis-server and when it is a Redis Cluster of <see cref="MemberSet.ClusterShards"/>
/// masters. One factory with that single member (the options allow one node), default options but the restart
/// quarantine; callers loop on distinct random resources (<see cref="CapacityCallers"/>). After a warm-up, several
/// back-to-back windows are measured; each gives pairs/s, client CPU per pair and every shard's CPU (INFO
/// <c>used_cpu_user + used_cpu_sys</c>), and <see cref="CapacityReport"/> summarizes them over the rounds.
/// </summary>
internal static class Capacity
{
    private const string Usage = "capacity [--seconds S] [--callers N] [--rounds N] [--warmup S] [--members single|cluster|both] [--quarantine on|off]";

    /// <returns>0, or 1 when a pair failed; 2 for a bad command line.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        Settings settings;
        IReadOnlyList<MemberShape> shapes;
        try
        {
            var parsed = ModeArguments.Parse(args, "--seconds", "--callers", "--rounds", "--warmup", "--members", "--quarantine");
            settings = new Settings(
                parsed.Int("--callers", 64, 1, 4096),
                TimeSpan.FromSeconds(parsed.Int("--seconds", 10, 1, 600)),
                TimeSpan.FromSeconds(parsed.Int("--warmup", 5, 0, 600)),
                parsed.Int("--rounds", 3, 1, 100),
                parsed.Quarantine());
            shapes = parsed.MemberShapes();
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"capacity: {ex.Message}. Usage: {Usage}");
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"capacity: {settings.Callers} callers, acquire + release on distinct random resources, one member per factory, default options but restart quarantine {settings.Quarantine}; " +
            $"warm-up {settings.Warmup.TotalSeconds:0} s, then {settings.Rounds} rounds of {settings.Window.TotalSeconds:0} s; Environment.ProcessorCount {Environment.ProcessorCount} (client and servers share them)"));
        long failures = 0;
        foreach (var shape in shapes)
        {
            failures += await MeasureAsync(shape, settings);
        }

        return failures == 0 ? 0 : 1;
    }

    /// <returns>The pairs that failed.</returns>
    private static async Task<long> MeasureAsync(MemberShape shape, Settings settings)
    {
        await using var members = await MemberSet.StartAsync(shape, 1);
        RedLockFactory factory;
        try
        {
            factory = await RedLockFactory.ConnectAsync(members.CreateOptions(settings.Quarantine));
        }
        catch (RedLockConfigurationException ex)
        {
            Console.WriteLine($"{members.Label}: not measured, the factory refused the member: {ex.Message}");
            return 0;
        }

        await using (factory)
        await using (var stats = await ServerStats.ConnectAsync(members))
        {
            var rounds = new List<CapacityRound>(settings.Rounds);
            string? firstFailure;
            var callers = new CapacityCallers(factory, settings.Callers);
            await using (callers)
            {
                await Task.Delay(settings.Warmup);
                for (var round = 1; round <= settings.Rounds; round++)
                {
                    var start = await CostSnapshot.TakeAsync(stats);
                    var (pairs, failures) = (callers.Pairs, callers.Failures);
                    await Task.Delay(settings.Window);
                    var end = await CostSnapshot.TakeAsync(stats);
                    rounds.Add(CapacityRound.From(end.Since(start), callers.Pairs - pairs, callers.Failures - failures));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{members.Label}, round {round}: {rounds[^1]}"));
                }

                firstFailure = callers.FirstFailure;
            }

            CapacityReport.Print(members, rounds, settings.Window, firstFailure);
            return rounds.Sum(r => r.Failures);
        }
    }

    /// <summary>The command line's sizes.</summary>
    private sealed record Settings(int Callers, TimeSpan Window, TimeSpan Warmup, int Rounds, RestartQuarantineMode Quarantine);
}
