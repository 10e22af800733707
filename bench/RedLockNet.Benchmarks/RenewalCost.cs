using System.Diagnostics;
using System.Globalization;
using RedLockNet.TestRig;
using StackExchange.Redis;

namespace RedLockNet.Benchmarks;

/// <summary>
/// Not a BenchmarkDotNet benchmark: holds many locks with auto-renewal for a while and reports what their
/// renewal costs the nodes, read from each node's INFO commandstats (script calls) before and after.
/// </summary>
internal static class RenewalCost
{
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
        var handles = new List<ILockHandle>(count);
        for (var i = 0; i < count; i += 500)
        {
            handles.AddRange(await Task.WhenAll(Enumerable.Range(i, Math.Min(500, count - i)).Select(n => factory.AcquireAsync($"held:{n}"))));
        }

        var before = await ScriptCallsAsync(cluster.Endpoints);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        await Task.Delay(hold);
        var elapsed = watch.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var after = await ScriptCallsAsync(cluster.Endpoints);

        var lost = handles.Count(h => h.Status != LockStatus.Held);
        var commands = after.Zip(before, (a, b) => a - b).ToArray();
        var perNodePerSecond = commands.Average() / elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{count} locks, expiry {expiry.TotalSeconds:0} s, batch {batchSize}: held {elapsed.TotalSeconds:0} s, " +
            $"script commands per node {string.Join("/", commands)} = {perNodePerSecond:0.0}/s per node, {perNodePerSecond * commands.Length:0.0}/s in all; " +
            $"client CPU {cpu.TotalMilliseconds / elapsed.TotalSeconds:0.0} ms/s; locks not held at the end: {lost}"));
        await Task.WhenAll(handles.Select(h => h.DisposeAsync().AsTask()));
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
