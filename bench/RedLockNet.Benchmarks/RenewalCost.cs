using System.Globalization;

namespace RedLockNet.Benchmarks;

/// <summary>
/// Not a BenchmarkDotNet benchmark: holds many locks with auto-renewal for a while on 3 members, once per member shape
/// (3 standalone redis-servers; 3 Redis Clusters of 3 masters each) and renewal batch size (256, 1), and reports what
/// their renewal costs the client (process CPU, against the same factory idle before it took any lock) and the members
/// (script calls, all commands and server CPU from INFO, summed over each member's shards; commands and CPU above the
/// idle window's). On a cluster a batch is split into one extend script per hash slot, so it also reports the script
/// calls per renewal round (one round renews every lock once; rounds and batches come from RedLockNet's own renewal
/// counters). Both windows are measured after the process has settled: a burst of thousands of acquisitions grows the
/// thread pool, and its idle workers (retired after about 20 s) and tiered compilation would otherwise be counted as
/// renewal cost.
/// </summary>
internal static class RenewalCost
{
    private const string Usage = "renewal-cost [locks] [seconds] [expiry seconds] [--members single|cluster|both] [--quarantine on|off]";
    private const int MemberCount = 3;
    private const string Batches = "redlock.renewal.batches";
    private const string Extends = "redlock.renewal.extends";
    private const string Lost = "redlock.lock.lost";

    /// <summary>Long enough for the thread pool to retire the workers a burst of acquisitions added.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(25);

    /// <returns>0, or 1 when a lock was not held at the end of a measurement; 2 for a bad command line.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        Settings settings;
        IReadOnlyList<MemberShape> shapes;
        try
        {
            var parsed = ModeArguments.Parse(args, "--members", "--quarantine");
            settings = new Settings(
                parsed.Int(0, "locks", 10_000, 1, 1_000_000),
                TimeSpan.FromSeconds(parsed.Int(1, "seconds", 60, 1, 3600)),
                TimeSpan.FromSeconds(parsed.Int(2, "expiry seconds", 30, 1, 3600)),
                parsed.Quarantine());
            shapes = parsed.MemberShapes();
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"renewal-cost: {ex.Message}. Usage: {Usage}");
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"renewal-cost: {settings.Locks} locks on {MemberCount} members, {settings.Hold.TotalSeconds:0} s windows, restart quarantine {settings.Quarantine}; {Environment.ProcessorCount} processors"));
        var allHeld = true;
        foreach (var shape in shapes)
        {
            foreach (var batchSize in new[] { 256, 1 })
            {
                allHeld &= await MeasureAsync(shape, settings, batchSize);
            }
        }

        return allHeld ? 0 : 1;
    }

    /// <returns>Whether every lock was still held at the end (true when the factory refused the members).</returns>
    private static async Task<bool> MeasureAsync(MemberShape shape, Settings settings, int batchSize)
    {
        await using var members = await MemberSet.StartAsync(shape, MemberCount);
        var options = members.CreateOptions(settings.Quarantine);
        options.DefaultExpiry = settings.Expiry;
        options.RenewalBatchSize = batchSize;
        var heading = string.Create(CultureInfo.InvariantCulture, $"{members.Label}, {settings.Locks} locks, expiry {settings.Expiry.TotalSeconds:0} s, batch {batchSize}");
        RedLockFactory factory;
        try
        {
            factory = await RedLockFactory.ConnectAsync(options);
        }
        catch (RedLockConfigurationException ex)
        {
            Console.WriteLine($"{heading}: not measured, the factory refused the members: {ex.Message}");
            return true;
        }

        await using (factory)
        await using (var stats = await ServerStats.ConnectAsync(members))
        {
            return await HoldAsync(factory, stats, members, settings, heading);
        }
    }

    private static async Task<bool> HoldAsync(RedLockFactory factory, ServerStats stats, MemberSet members, Settings settings, string heading)
    {
        // the idle factory: heartbeats to every node and the runtime's own timers (and the stats connection's INFO)
        var warm = await factory.AcquireAsync("held:warm-up");
        await warm.DisposeAsync();
        await Task.Delay(Settle);
        var idleStart = await CostSnapshot.TakeAsync(stats);
        await Task.Delay(settings.Hold);
        var idle = (await CostSnapshot.TakeAsync(stats)).Since(idleStart);

        using var counters = new RedLockCounters(Batches, Extends, Lost);
        var handles = new List<ILockHandle>(settings.Locks);
        for (var i = 0; i < settings.Locks; i += 500)
        {
            handles.AddRange(await Task.WhenAll(Enumerable.Range(i, Math.Min(500, settings.Locks - i)).Select(n => factory.AcquireAsync($"held:{n}"))));
        }

        await Task.Delay(Settle);
        var start = await CostSnapshot.TakeAsync(stats);
        var (batches, extends) = (counters[Batches], counters[Extends]);
        await Task.Delay(settings.Hold);
        var held = (await CostSnapshot.TakeAsync(stats)).Since(start);
        (batches, extends) = (counters[Batches] - batches, counters[Extends] - extends);

        var notHeld = handles.Count(h => h.Status != LockStatus.Held);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{heading}: {Describe(held, idle, batches, extends, settings.Locks, members.Shape)}; locks not held at the end: {notHeld} (lost events {counters[Lost]})"));
        await Task.WhenAll(handles.Select(h => h.DisposeAsync().AsTask()));
        return notHeld == 0;
    }

    /// <summary>The measured part of a line: script calls (per shard on a cluster), rounds and batches, commands, server and client CPU.</summary>
    private static string Describe(WindowCost held, WindowCost idle, long batches, long extends, int locks, MemberShape shape)
    {
        var members = Enumerable.Range(0, held.Servers.Length).ToArray();
        var scripts = members.Select(m => held.ScriptCalls(m)).ToArray();
        var perMember = string.Join("/", members.Select(m => shape == MemberShape.Cluster
            ? string.Create(CultureInfo.InvariantCulture, $"{scripts[m]} ({string.Join("+", held.Servers[m].Select(s => s.ScriptCalls.ToString(CultureInfo.InvariantCulture)))})")
            : scripts[m].ToString(CultureInfo.InvariantCulture)));
        var rounds = (double)extends / locks;
        var seconds = held.Elapsed.TotalSeconds;
        var commands = members.Average(m => held.CommandsPerSecond(m) - idle.CommandsPerSecond(m));
        var serverCpu = members.Average(m => held.ServerCpuPerSecond(m) - idle.ServerCpuPerSecond(m));
        var renewal = held.ClientCpuPerSecond - idle.ClientCpuPerSecond;
        return string.Create(CultureInfo.InvariantCulture,
            $"held {seconds:0} s, {rounds:0.00} renewal rounds in {batches} batches; " +
            $"extend script calls per member {perMember} = {scripts.Average() / seconds:0.0}/s per member, {scripts.Average() / rounds:0} per round ({scripts.Average() / Math.Max(1, batches):0.0} per batch); " +
            $"all commands (each script's own GET/PEXPIRE too) {commands:0.0}/s per member above idle ({members.Average(idle.CommandsPerSecond):0.0}/s idle); " +
            $"server CPU {serverCpu:0.0} ms/s per member above idle ({members.Average(idle.ServerCpuPerSecond):0.0} ms/s idle); " +
            $"client CPU {held.ClientCpuPerSecond:0.0} ms/s holding, {idle.ClientCpuPerSecond:0.0} ms/s idle before, renewal {renewal:0.0} ms/s = {renewal / 10:0.00} % of a core");
    }

    /// <summary>The command line's sizes.</summary>
    private sealed record Settings(int Locks, TimeSpan Hold, TimeSpan Expiry, RestartQuarantineMode Quarantine);
}
