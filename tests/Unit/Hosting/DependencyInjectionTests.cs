using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.DependencyInjection;
using RedLockNet.Hosting.Election;
using RedLockNet.Idempotency;
using RedLockNet.Tests.Unit.Integration;
using static RedLockNet.Tests.Unit.Hosting.Replicas;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>
/// The container's side of RedLockNet on real server processes: options bound from configuration and checked at host
/// start, named instances, and every feature injected (idempotency, leader election, cron tick observers).
/// </summary>
public sealed class DependencyInjectionTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    [Fact]
    public async Task Options_bind_from_configuration_nodes_as_an_array_time_spans_and_enums_by_name()
    {
        var settings = NodeSettings("RedLock");
        settings["RedLock:KeyPrefix"] = "cfg:";
        settings["RedLock:DefaultExpiry"] = "00:00:12";
        settings["RedLock:MinValidity"] = "00:00:01.500";
        settings["RedLock:NodeTimeout"] = "00:00:00.500";
        settings["RedLock:RestartQuarantine"] = "Always";
        settings["RedLock:FencingOnAcquire"] = "true";
        using var host = BuildHost(settings, b => b.Services.AddRedLock(b.Configuration.GetSection("RedLock")));

        var options = host.Services.GetRequiredService<IOptions<RedLockOptions>>().Value;
        Assert.Equal(Nodes.Endpoints, options.Nodes);
        Assert.Equal("cfg:", options.KeyPrefix);
        Assert.Equal(TimeSpan.FromSeconds(12), options.DefaultExpiry);
        Assert.Equal(TimeSpan.FromSeconds(1.5), options.MinValidity);
        Assert.Equal(RestartQuarantineMode.Always, options.RestartQuarantine);
        Assert.True(options.FencingOnAcquire);
        Assert.NotNull(options.LoggerFactory); // the container's

        await host.StartAsync(Clusters.Bound());
        var resource = Clusters.UniqueResource("cfg");
        await using (var handle = await host.Services.GetRequiredService<IDistributedLockFactory>().AcquireAsync(resource, Clusters.Bound()))
        {
            Assert.NotNull(handle.FencingToken); // minted on acquisition, as configured
            Assert.True((await Probe.ValuesAsync(resource, "cfg:")).Count(v => v == handle.LockId) >= 2, "not on a majority under the configured prefix");
        }

        await host.StopAsync(Clusters.Bound());
    }

    [Fact]
    public async Task A_bad_node_stops_the_host_at_start_naming_its_configuration_key()
    {
        var settings = NodeSettings("RedLock");
        settings["RedLock:Nodes:2"] = "10.0.0.7:6379,10.0.0.8:6379"; // two servers in one entry
        using var host = BuildHost(settings, b => b.Services.AddRedLock(b.Configuration.GetSection("RedLock")));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Clusters.Bound()));

        Assert.StartsWith("RedLock:Nodes:2: Each node entry must name exactly one endpoint", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_TTL_stops_the_host_at_start_naming_its_configuration_key_or_option()
    {
        var settings = NodeSettings("RedLock");
        settings["RedLock:DefaultExpiry"] = "00:00:00.005";
        using (var host = BuildHost(settings, b => b.Services.AddRedLock(b.Configuration.GetSection("RedLock"))))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Clusters.Bound()));
            Assert.StartsWith("RedLock:DefaultExpiry: The expiry must be at least 10 ms.", error.Message, StringComparison.Ordinal);
        }

        // configured in code, on a named instance: the option of that registration
        using (var host = BuildHost([], b => b.Services.AddRedLock("payments", o => Configure(o, expiry: TimeSpan.FromMilliseconds(5)))))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Clusters.Bound()));
            Assert.StartsWith("AddRedLock(\"payments\") option DefaultExpiry: The expiry must be at least 10 ms.", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Values_that_do_not_bind_stop_the_host_at_start_naming_the_key()
    {
        var settings = NodeSettings("RedLock");
        settings["RedLock:WaitTimeout"] = "ten seconds";
        using (var host = BuildHost(settings, b => b.Services.AddRedLock(b.Configuration.GetSection("RedLock"))))
        {
            var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync(Clusters.Bound()));
            Assert.Contains("RedLock:WaitTimeout", error.Message, StringComparison.Ordinal);
        }

        settings = NodeSettings("RedLock");
        settings["RedLock:DefaultExpiy"] = "00:00:30"; // a typo is not silently ignored
        using (var host = BuildHost(settings, b => b.Services.AddRedLock(b.Configuration.GetSection("RedLock"))))
        {
            var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync(Clusters.Bound()));
            Assert.Contains("DefaultExpiy", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Named_instances_resolve_separately_and_lock_independently()
    {
        var settings = NodeSettings("Payments");
        settings["Payments:KeyPrefix"] = "payments:";
        using var host = BuildHost(settings, b =>
        {
            b.Services.AddRedLock(o => Configure(o, prefix: "default:"));
            b.Services.AddRedLock("payments", b.Configuration.GetSection("Payments"));
        });
        await host.StartAsync(Clusters.Bound());

        var defaultConnection = host.Services.GetRequiredService<RedLockConnection>();
        var payments = host.Services.GetRequiredKeyedService<RedLockConnection>("payments");
        Assert.NotSame(defaultConnection, payments);
        Assert.Equal("", defaultConnection.Name);
        Assert.Equal("payments", payments.Name);
        Assert.Null(host.Services.GetKeyedService<RedLockConnection>("orders"));

        var defaultLocks = host.Services.GetRequiredService<IDistributedLockFactory>();
        var paymentLocks = host.Services.GetRequiredKeyedService<IDistributedLockFactory>("payments");
        Assert.NotSame(defaultLocks, paymentLocks);
        Assert.Same(paymentLocks, host.Services.GetRequiredKeyedService<ILockFactoryWithRecords>("payments"));
        Assert.Same(paymentLocks, host.Services.GetRequiredKeyedService<ISemaphoreFactory>("payments"));
        Assert.Same(paymentLocks, host.Services.GetRequiredKeyedService<IReaderWriterLockFactory>("payments"));
        Assert.Same(paymentLocks, host.Services.GetRequiredKeyedService<IMultiLockFactory>("payments"));
        var tag = Clusters.UniqueResource("accounts");
        await using (var both = await host.Services.GetRequiredService<IMultiLockFactory>().AcquireAllAsync([$"{{{tag}}}:1", $"{{{tag}}}:2"], cancellationToken: Clusters.Bound()))
        {
            Assert.Equal(2, both.Locks.Count);
        }

        await using (await host.Services.GetRequiredService<IReaderWriterLockFactory>().AcquireReadAsync(Clusters.UniqueResource("shared"), cancellationToken: Clusters.Bound()))
        {
        }
        await using (var permit = await host.Services.GetRequiredService<ISemaphoreFactory>().AcquireSemaphoreAsync(Clusters.UniqueResource("pool"), 2, cancellationToken: Clusters.Bound()))
        {
            Assert.Equal(2, permit.MaxCount);
        }

        var resource = Clusters.UniqueResource("named");
        await using var held = await defaultLocks.AcquireAsync(resource, Clusters.Bound());
        await using var alsoHeld = await paymentLocks.TryAcquireAsync(resource, Clusters.Bound());
        Assert.NotNull(alsoHeld); // another instance, another lock
        Assert.Null(await defaultLocks.TryAcquireAsync(resource, Clusters.Bound())); // the same instance, the same lock
        // acquisition returns once a majority granted: a slow node may still be answering
        Assert.True((await Probe.ValuesAsync(resource, "default:")).Count(v => v == held.LockId) >= 2, "the default instance's lock is not on a majority");
        Assert.True((await Probe.ValuesAsync(resource, "payments:")).Count(v => v == alsoHeld.LockId) >= 2, "the payments instance's lock is not on a majority");

        await host.StopAsync(Clusters.Bound());
    }

    [Fact]
    public void AddRedLock_twice_with_one_name_fails_and_different_names_are_fine()
    {
        var services = new ServiceCollection();
        services.AddRedLock(o => o.Nodes.Add("127.0.0.1:1"));
        services.AddRedLock("payments", o => o.Nodes.Add("127.0.0.1:2"));
        services.AddRedLock("orders", o => o.Nodes.Add("127.0.0.1:3"));

        var again = Assert.Throws<InvalidOperationException>(() => services.AddRedLock(o => o.Nodes.Add("127.0.0.1:1")));
        Assert.Contains("AddRedLock was already called", again.Message, StringComparison.Ordinal);
        var named = Assert.Throws<InvalidOperationException>(() => services.AddRedLock("payments", o => o.Nodes.Add("127.0.0.1:2")));
        Assert.Contains("AddRedLock(\"payments\") was already called", named.Message, StringComparison.Ordinal);
        Assert.Equal("name", Assert.ThrowsAny<ArgumentException>(() => services.AddRedLock(" ", o => o.Nodes.Add("127.0.0.1:4"))).ParamName);
    }

    [Fact]
    public async Task AddIdempotency_injects_a_processor_that_runs_a_handler_once_across_duplicates_and_replicas()
    {
        using var first = BuildHost([], b => b.Services.AddRedLock(o => Configure(o)).AddIdempotency(o => o.Retention = TimeSpan.FromMinutes(5)));
        using var second = BuildHost([], b => b.Services.AddRedLock(o => Configure(o)).AddIdempotency());
        await second.StartAsync(Clusters.Bound());
        var key = Clusters.UniqueResource("evt");
        var runs = 0;
        async Task<string> ChargeAsync(CancellationToken ct)
        {
            Interlocked.Increment(ref runs);
            await Task.Delay(100, ct);
            return "charged";
        }

        // resolved before the host started: it connects on first use
        var processor = first.Services.GetRequiredService<IdempotentProcessor>();
        Assert.Same(processor, first.Services.GetRequiredService<IdempotentProcessor>());
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => processor.RunOnceAsync(key, ChargeAsync, Clusters.Bound())));
        var replayed = await second.Services.GetRequiredService<IdempotentProcessor>().RunOnceAsync(key, ChargeAsync, Clusters.Bound());

        Assert.Equal(1, runs);
        Assert.Single(outcomes, o => o.Executed);
        Assert.All(outcomes.Append(replayed), o => Assert.Equal("charged", o.Result));
        Assert.True(replayed.Replayed);
        await second.StopAsync(Clusters.Bound());
    }

    [Fact]
    public async Task Bad_idempotency_options_stop_the_host_at_start()
    {
        using var host = BuildHost([], b => b.Services.AddRedLock(o => Configure(o)).AddIdempotency(o => o.LockExpiry = TimeSpan.FromMilliseconds(5)));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Clusters.Bound()));

        Assert.StartsWith("AddIdempotency on AddRedLock: options.LockExpiry: The expiry must be at least 10 ms.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddLeaderElection_runs_the_work_on_one_replica_of_two_and_hands_over_when_it_stops()
    {
        var group = Clusters.UniqueResource("partition-owner");
        var terms = new ConcurrentQueue<(string Host, long Epoch)>();
        var active = 0;
        var mostActive = 0;
        async Task OwnPartitionAsync(LeadershipTerm term, CancellationToken ct)
        {
            terms.Enqueue((term.Identity, term.Epoch));
            var now = Interlocked.Increment(ref active);
            InterlockedMax(ref mostActive, now);
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                // the term ended
            }
            finally
            {
                Interlocked.Decrement(ref active);
            }
        }

        // twice the other tests' timing: a term must outlast a loaded machine's scheduling delays
        IHost Replica(string name) => BuildHost([], b => b.Services.AddRedLock(o => Configure(o)).AddLeaderElection(group, OwnPartitionAsync, o =>
        {
            o.Identity = name;
            (o.LeaseDuration, o.RenewDeadline, o.RetryPeriod) = (Lease * 2, RenewDeadline * 2, Retry * 2);
        }));
        using var a = Replica("host-a");
        using var b = Replica("host-b");
        await Task.WhenAll(a.StartAsync(Clusters.Bound()), b.StartAsync(Clusters.Bound()));

        Assert.True(await UntilAsync(() => !terms.IsEmpty, TimeSpan.FromSeconds(15)), "no replica led");
        await Task.Delay(Lease, TestContext.Current.CancellationToken); // several renewals and campaigns
        Assert.Equal(1, Volatile.Read(ref active));
        var leader = terms.Last();

        await (leader.Host == "host-a" ? a : b).StopAsync(Clusters.Bound()); // cancels the work, waits for it, releases
        Assert.True(await UntilAsync(() => terms.Any(t => t.Host != leader.Host && t.Epoch > leader.Epoch), TimeSpan.FromSeconds(10)), "the other replica did not take over");
        Assert.Equal(1, Volatile.Read(ref mostActive));
        await (leader.Host == "host-a" ? b : a).StopAsync(Clusters.Bound());
        Assert.Equal(0, Volatile.Read(ref active));
    }

    [Fact]
    public async Task AddLeaderElection_of_a_work_type_resolves_it_in_a_new_scope_per_term()
    {
        var group = Clusters.UniqueResource("scoped-work");
        using var host = BuildHost([], b =>
        {
            b.Services.AddSingleton<WorkSink>();
            b.Services.AddRedLock(o => Configure(o)).AddLeaderElection<ScopedWork>(group, o => (o.LeaseDuration, o.RenewDeadline, o.RetryPeriod) = (Lease, RenewDeadline, Retry));
        });
        await host.StartAsync(Clusters.Bound());
        var sink = host.Services.GetRequiredService<WorkSink>();

        Assert.True(await UntilAsync(() => !sink.Terms.IsEmpty, TimeSpan.FromSeconds(15)), "the work never ran");
        await host.StopAsync(Clusters.Bound());

        var (term, work) = Assert.Single(sink.Terms);
        Assert.Equal(group, term.Group);
        Assert.True(work.Disposed); // its scope ended with the term
    }

    [Fact]
    public async Task Cron_tick_observers_hear_every_settled_tick_and_replaced_election_options_keep_the_cron_group()
    {
        using var host = BuildHost([], b => b.Services.AddRedLock(o => Configure(o))
            // new election options without a group: the runner stays in group "cron"
            .ConfigureCron(c => c.Election = new LeaderElectionOptions { Identity = "observed", LeaseDuration = Lease, RenewDeadline = RenewDeadline, RetryPeriod = Retry })
            .AddCronJob("observed", "* * * * * *", (_, _) => Task.CompletedTask)
            .AddCronTickObserver<ThrowingObserver>()
            .AddCronTickObserver<TickRecorder>());
        await host.StartAsync(Clusters.Bound());
        var recorder = host.Services.GetRequiredService<TickRecorder>();

        Assert.True(await UntilAsync(() => recorder.Ticks.Count(t => t.Outcome == CronTickOutcome.Ran) >= 2, TimeSpan.FromSeconds(15)), "no ticks heard");
        Assert.All(recorder.Ticks, t => Assert.Equal("observed", t.JobName));
        Assert.True(host.Services.GetRequiredService<ThrowingObserver>().Calls >= 2); // its exceptions reached no one
        await Probe.EventuallyAsync(CronRunnerOptions.DefaultGroup, v => v is not null); // the leader's lock
        await host.StopAsync(Clusters.Bound());
        await Probe.EventuallyAsync(CronRunnerOptions.DefaultGroup, v => v is null); // released
    }

    [Fact]
    public void A_cron_runner_campaigns_in_cron_unless_its_election_group_is_set()
    {
        CronJob[] jobs = [CronJob.Create("job", "* * * * *", (_, _) => Task.CompletedTask)];

        Assert.Equal("cron", new CronRunner(Locks, jobs).Elector.Group);
        Assert.Equal("cron", new CronRunnerOptions().Election.Group);
        Assert.Equal("cron", new CronRunner(Locks, jobs, new CronRunnerOptions { Election = new LeaderElectionOptions { Identity = "x" } }).Elector.Group);
        Assert.Equal("leader", new CronRunner(Locks, jobs, new CronRunnerOptions { Election = new LeaderElectionOptions { Group = "leader" } }).Elector.Group);
        Assert.Equal("reports", new CronRunner(Locks, jobs, new CronRunnerOptions { Election = new LeaderElectionOptions { Group = "reports" } }).Elector.Group);
        Assert.Equal("leader", new LeaderElector(Locks, new LeaderElectionOptions()).Group);
    }

    /// <summary>Records the terms of <see cref="ScopedWork"/>.</summary>
    public sealed class WorkSink
    {
        public ConcurrentQueue<(LeadershipTerm Term, ScopedWork Work)> Terms { get; } = new();
    }

    /// <summary>Leader work resolved from the container, one per term.</summary>
    public sealed class ScopedWork(WorkSink sink) : ILeaderWork, IDisposable
    {
        public bool Disposed { get; private set; }

        public async Task RunAsync(LeadershipTerm term, CancellationToken cancellationToken)
        {
            sink.Terms.Enqueue((term, this));
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        public void Dispose() => Disposed = true;
    }

    /// <summary>Hears ticks.</summary>
    public sealed class TickRecorder : ICronTickObserver
    {
        public ConcurrentQueue<CronTickEventArgs> Ticks { get; } = new();

        public void OnTickSettled(CronTickEventArgs tick) => Ticks.Enqueue(tick);
    }

    /// <summary>Throws on every tick, registered before the recorder.</summary>
    public sealed class ThrowingObserver : ICronTickObserver
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public void OnTickSettled(CronTickEventArgs tick)
        {
            Interlocked.Increment(ref _calls);
            throw new InvalidOperationException("observer failure");
        }
    }

    private Dictionary<string, string?> NodeSettings(string section)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < Nodes.Endpoints.Count; i++)
        {
            settings[$"{section}:Nodes:{i}"] = Nodes.Endpoints[i];
        }

        return settings;
    }

    private void Configure(RedLockOptions options, string prefix = "redlock:", TimeSpan? expiry = null)
    {
        foreach (var endpoint in Nodes.Endpoints)
        {
            options.Nodes.Add(endpoint);
        }

        options.KeyPrefix = prefix;
        options.NodeTimeout = TimeSpan.FromMilliseconds(500);
        options.DefaultExpiry = expiry ?? options.DefaultExpiry;
    }

    private static IHost BuildHost(Dictionary<string, string?> settings, Action<HostApplicationBuilder> configure)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        configure(builder);
        return builder.Build();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
