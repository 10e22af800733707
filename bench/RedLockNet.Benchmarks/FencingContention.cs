using System.Diagnostics.Metrics;
using System.Globalization;
using RedLockNet.Diagnostics;
using RedLockNet.TestRig;

namespace RedLockNet.Benchmarks;

/// <summary>
/// Not a BenchmarkDotNet benchmark: many contenders take one lock in turn; reports how often the fencing token
/// needed the second round (the granting nodes' counters disagreed).
/// </summary>
internal static class FencingContention
{
    public static async Task RunAsync(string[] args)
    {
        var contenders = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 8;
        var acquisitions = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
        await using var cluster = await TestNodeCluster.StartAsync(3, NodeBackend.RedisServer, log: _ => { });
        var factories = new List<RedLockFactory>();
        for (var i = 0; i < contenders; i++)
        {
            var options = new RedLockOptions { WaitTimeout = TimeSpan.FromMinutes(2), MinRetryDelay = TimeSpan.FromMilliseconds(1), MaxRetryDelay = TimeSpan.FromMilliseconds(20) };
            foreach (var endpoint in cluster.Endpoints)
            {
                options.Nodes.Add(endpoint);
            }

            factories.Add(await RedLockFactory.ConnectAsync(options));
        }

        long oneRound = 0, twoRounds = 0, attempts = 0, contended = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RedLockTelemetry.Name && instrument.Name is "redlock.fencing.settlements" or "redlock.acquire.attempts")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "rounds")
                {
                    Interlocked.Increment(ref (int)tag.Value! == 1 ? ref oneRound : ref twoRounds);
                }
                else if (tag.Key == "outcome")
                {
                    Interlocked.Increment(ref attempts);
                    if ((string)tag.Value! == "contended")
                    {
                        Interlocked.Increment(ref contended);
                    }
                }
            }
        });
        listener.Start();

        var next = 0;
        await Task.WhenAll(factories.Select(async factory =>
        {
            while (Interlocked.Increment(ref next) <= acquisitions)
            {
                await using var handle = await factory.AcquireAsync("contended");
            }
        }));

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{contenders} contenders, {acquisitions} acquisitions of one lock on 3 nodes: {attempts} quorum attempts ({contended} contended); " +
            $"tokens settled in one round {oneRound}, in two rounds {twoRounds} ({100.0 * twoRounds / Math.Max(1, oneRound + twoRounds):0.00} %)"));
        foreach (var factory in factories)
        {
            await factory.DisposeAsync();
        }
    }
}
