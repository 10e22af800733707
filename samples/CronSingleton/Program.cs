using System.Diagnostics;
using CronSingleton;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RedLockNet;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.DependencyInjection;
using RedLockNet.Hosting.Election;
using RedLockNet.Samples;

// Three replicas of one service register the same job, due every 2 seconds, on three Redis-compatible nodes.
// They elect a leader; only the leader runs the job, and each tick is claimed on a majority of nodes before it runs.
// Part way through, the leading replica crashes (no release) and a node is killed; the summary counts what ran where.
//
//   dotnet run --project samples/CronSingleton                          embedded nodes, 3 replicas, ~30 s
//   dotnet run --project samples/CronSingleton -- --nodes a:6379,b:6379,c:6379 [--name replica-x] [--seconds N]
//                                                                       one replica (a .NET generic host) against real Redis
var settings = Settings.Parse(args);
const string Schedule = "*/2 * * * * *";
var ledger = new Ledger(Schedule);

if (settings.Nodes is { } external)
{
    await RunHostedReplicaAsync(settings, external, ledger);
    return;
}

using var nodes = new EmbeddedNodes(3);
Out.Line($"started 3 embedded Garnet nodes: {string.Join(", ", nodes.Endpoints)}");
Out.Line($"3 replicas share the job '{Schedule}'; lease {Timing.Lease.TotalSeconds:0} s, renew deadline {Timing.RenewDeadline.TotalSeconds:0} s, retry every {Timing.Retry.TotalSeconds:0.#} s");
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };

var replicas = new List<Replica>();
foreach (var name in new[] { "replica-a", "replica-b", "replica-c" })
{
    replicas.Add(await Replica.StartAsync(name, nodes.Endpoints, ledger, stop.Token));
}

ledger.Open();
var clock = Stopwatch.StartNew();
await Sleep(settings.Duration * 0.4, stop.Token);
var victim = replicas.FirstOrDefault(r => r.IsLeader) ?? replicas[0];
Out.Line($"!! {victim.Name} crashes while leading: its connections drop, nothing is released");
ledger.Crashed(victim.Name);
await victim.CrashAsync();

await Sleep(settings.Duration * 0.6 - clock.Elapsed, stop.Token);
Out.Line($"!! node {nodes.Endpoints[2]} is killed; 2 of 3 nodes remain, still a majority");
nodes.Kill(2);

await Sleep(settings.Duration - clock.Elapsed, stop.Token);
ledger.Close();
Out.Line("stopping the replicas (graceful: the leader releases)");
foreach (var replica in replicas)
{
    await replica.StopAsync();
}

ledger.PrintSummary();
return;

static async Task Sleep(TimeSpan span, CancellationToken cancellationToken)
{
    if (span > TimeSpan.Zero)
    {
        await Task.Delay(span, cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);
    }
}

// One replica as a real service would host it: the generic host, AddRedLock and AddCronJob.
static async Task RunHostedReplicaAsync(Settings settings, string[] endpoints, Ledger ledger)
{
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services
        .AddRedLock(o =>
        {
            foreach (var endpoint in endpoints)
            {
                o.Nodes.Add(endpoint);
            }
        })
        .ConfigureCron(c => Timing.Apply(c, settings.Name, ledger))
        .AddCronJob("report", Schedule, (ctx, ct) => Job.RunAsync(ctx, ledger, ct));
    using var host = builder.Build();
    Out.Line($"{settings.Name} joins nodes {string.Join(", ", endpoints)}; job '{Schedule}'. Start more replicas the same way; Ctrl+C stops (and hands over at once).");
    ledger.Open();
    if (settings.Duration == Timeout.InfiniteTimeSpan)
    {
        await host.RunAsync();
    }
    else
    {
        await host.StartAsync();
        await Task.Delay(settings.Duration);
        await host.StopAsync();
    }

    ledger.Close();
    ledger.PrintSummary();
}

namespace CronSingleton
{
    /// <summary>The demo's timing: short, so a crash is recovered within seconds.</summary>
    internal static class Timing
    {
        public static readonly TimeSpan Lease = TimeSpan.FromSeconds(4);
        public static readonly TimeSpan RenewDeadline = TimeSpan.FromSeconds(3);
        public static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(500);
        public static readonly TimeSpan MisfireGrace = TimeSpan.FromSeconds(30);

        public static void Apply(CronRunnerOptions options, string name, Ledger ledger)
        {
            options.MisfireGrace = MisfireGrace;
            options.Election = new LeaderElectionOptions
            {
                Group = "cron-singleton-demo",
                Identity = name,
                LeaseDuration = Lease,
                RenewDeadline = RenewDeadline,
                RetryPeriod = Retry,
                OnStartedLeading = (term, _) =>
                {
                    ledger.Leading(term.Identity);
                    Out.Line($"{term.Identity} leads (epoch {term.Epoch})");
                    return Task.CompletedTask;
                },
                OnStoppedLeading = term =>
                {
                    if (!ledger.HasCrashed(term.Identity))
                    {
                        Out.Line($"{term.Identity} stopped leading (epoch {term.Epoch}): {term.EndReason}");
                    }
                },
            };
        }
    }

    /// <summary>The scheduled job: records the run and takes a moment.</summary>
    internal static class Job
    {
        public static async Task RunAsync(CronJobContext context, Ledger ledger, CancellationToken cancellationToken)
        {
            ledger.Ran(context);
            var late = context.IsCatchUp ? $" (late by {(DateTimeOffset.UtcNow - context.FireTime).TotalSeconds:0.0} s: missed while no one led)" : string.Empty;
            Out.Line($"{context.ReplicaId} runs tick {context.FireTime.ToLocalTime():HH:mm:ss} (epoch {context.EpochShort()}){late}");
            await Task.Delay(TimeSpan.FromMilliseconds(300), cancellationToken);
        }

        private static string EpochShort(this CronJobContext context) => context.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>One in-process replica: its own connections, its own cron runner.</summary>
    internal sealed class Replica
    {
        private readonly RedLockFactory _locks;
        private readonly CronRunner _runner;
        private readonly CancellationTokenSource _stop;
        private readonly Task _running;

        private Replica(string name, RedLockFactory locks, CronRunner runner, CancellationTokenSource stop)
        {
            Name = name;
            _locks = locks;
            _runner = runner;
            _stop = stop;
            _running = runner.RunAsync(stop.Token);
        }

        public string Name { get; }

        public bool IsLeader => _runner.Elector.IsLeader;

        public static async Task<Replica> StartAsync(string name, IEnumerable<string> endpoints, Ledger ledger, CancellationToken demoStop)
        {
            var options = new RedLockOptions { NodeTimeout = TimeSpan.FromMilliseconds(150) };
            foreach (var endpoint in endpoints)
            {
                options.Nodes.Add(endpoint);
            }

            var locks = await RedLockFactory.ConnectAsync(options, demoStop);
            var runnerOptions = new CronRunnerOptions();
            Timing.Apply(runnerOptions, name, ledger);
            var job = CronJob.Create("report", ledger.Schedule, (ctx, ct) => Job.RunAsync(ctx, ledger, ct));
            var runner = new CronRunner(locks, [job], runnerOptions);
            runner.TickSettled += (_, e) => ledger.Settled(e);
            return new Replica(name, locks, runner, CancellationTokenSource.CreateLinkedTokenSource(demoStop));
        }

        /// <summary>Drops the connections first, so nothing (no renewal, no release) reaches the nodes again; then stops its code.</summary>
        public async Task CrashAsync()
        {
            await _locks.DisposeAsync();
            await _stop.CancelAsync();
            await _running;
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _running;
            await _locks.DisposeAsync();
        }
    }
}
