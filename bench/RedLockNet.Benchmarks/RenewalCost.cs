using System.Diagnostics;
using System.Globalization;
using RedLockNet.TestRig;
using StackExchange.Redis;

namespace RedLockNet.Benchmarks;

/// <summary>
/// Not a BenchmarkDotNet benchmark: holds many locks with auto-renewal for a while and reports what their renewal
/// costs the client (process CPU, against the same factory idle before it took any lock) and the nodes (script calls
/// from each node's INFO commandstats). Both windows are measured after the process has settled: a burst of
/// thousands of acquisitions grows the thread pool, and its idle workers (retired after about 20 s) and tiered
/// compilation would otherwise be counted as renewal cost.
/// </summary>
internal static class RenewalCost
{
    /// <summary>Long enough for the thread pool to retire the workers a burst of acquisitions added.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(25);

    public static async Task RunAsync(string[] args)
    {
        var locks = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10_000;
        var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60;
        var expiry = TimeSpan.FromSeconds(args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30);
        foreach (var batchSize in new[] { 256, 1 })
        {
            await MeasureAsync(locks, TimeSpan.FromSeconds(seconds), expiry, batchSize);
        }
    }

    private static async Task MeasureAsync(int count, TimeSpan hold, TimeSpan expiry, int batchSize)
    {
        await using var cluster = await TestNodeCluster.StartAsync(3, NodeBackend.RedisServer, log: _ => { });
        var options = new RedLockOptions { DefaultExpiry = expiry, RenewalBatchSize = batchSize };
        foreach (var endpoint in cluster.Endpoints)
        {
            options.Nodes.Add(endpoint);
        }

        await using var factory = await RedLockFactory.ConnectAsync(options);
        // the idle factory: heartbeats to every node and the runtime's own timers
        var warm = await factory.AcquireAsync("held:warm-up");
        await warm.DisposeAsync();
        await Task.Delay(Settle);
        var idle = await CpuPerSecondAsync(hold);

        var handles = new List<ILockHandle>(count);
        for (var i = 0; i < count; i += 500)
        {
            handles.AddRange(await Task.WhenAll(Enumerable.Range(i, Math.Min(500, count - i)).Select(n => factory.AcquireAsync($"held:{n}"))));
        }

        await Task.Delay(Settle);
        var before = await ScriptCallsAsync(cluster.Endpoints);
        var watch = Stopwatch.StartNew();
        var held = await CpuPerSecondAsync(hold);
        var elapsed = watch.Elapsed;
        var after = await ScriptCallsAsync(cluster.Endpoints);

        var lost = handles.Count(h => h.Status != LockStatus.Held);
        var commands = after.Zip(before, (a, b) => a - b).ToArray();
        var perNodePerSecond = commands.Average() / elapsed.TotalSeconds;
        var renewal = held - idle;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{count} locks, expiry {expiry.TotalSeconds:0} s, batch {batchSize}: held {elapsed.TotalSeconds:0} s, " +
            $"script commands per node {string.Join("/", commands)} = {perNodePerSecond:0.0}/s per node; " +
            $"client CPU {held:0.0} ms/s holding, {idle:0.0} ms/s idle before, renewal {renewal:0.0} ms/s = {renewal / 10:0.00} % of a core; " +
            $"locks not held at the end: {lost}"));
        await Task.WhenAll(handles.Select(h => h.DisposeAsync().AsTask()));
    }

    /// <summary>Process CPU over <paramref name="window"/>, in milliseconds per second.</summary>
    private static async Task<double> CpuPerSecondAsync(TimeSpan window)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        await Task.Delay(window);
        return (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Total EVAL + EVALSHA calls each node has served.</summary>
    private static async Task<long[]> ScriptCallsAsync(IReadOnlyList<string> endpoints)
    {
        var totals = new long[endpoints.Count];
        for (var i = 0; i < endpoints.Count; i++)
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endpoints[i] }, AllowAdmin = true });
            var stats = await connection.GetServer(endpoints[i]).InfoAsync("commandstats");
            foreach (var pair in stats.SelectMany(g => g))
            {
                if (pair.Key is "cmdstat_eval" or "cmdstat_evalsha")
                {
                    var calls = pair.Value.Split(',')[0]; // calls=N
                    totals[i] += long.Parse(calls[(calls.IndexOf('=', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
                }
            }
        }

        return totals;
    }
}
