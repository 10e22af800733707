using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RedLockNet.Hosting.Election;
using RedLockNet.Idempotency;
using RedLockNet.Tests.Unit.Integration;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Security;

/// <summary>
/// Runs everything the library does, with passwords and TLS, and searches all it says (logs of every level, exceptions,
/// health results, metric tags, spans) for the secrets: the ACL user's password, a wrong password, and full lock ids.
/// </summary>
[Collection(SecureNodesGroup.Name)]
public sealed class TlsNoSecretsTests(SecureNodes nodes, ITestOutputHelper output)
{
    /// <summary>A lock id is 32 hex digits; logs may carry its first 8. Any 16 of them in a row would be a leak.</summary>
    private const int LockIdWindow = 16;

    [Fact]
    public async Task No_password_or_lock_id_reaches_logs_exceptions_health_metrics_or_spans()
    {
        var wrongPassword = "wrong-" + Guid.NewGuid().ToString("N");
        var logs = new TestLoggerFactory();
        var said = new ConcurrentQueue<(string Where, string Text)>();
        var lockIds = new ConcurrentQueue<string>();
        void Heard(string where, Exception ex) => said.Enqueue((where, ex.Message + "\n" + ex));
        using var telemetry = new TelemetryCapture();

        var elected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace);
        builder.Services.AddRedLock(o =>
            {
                o.NodeTimeout = TimeSpan.FromMilliseconds(500);
                o.ConfigureConnection = c => c.TrustIssuer(nodes.Credentials.CaCertificatePath!);
                for (var i = 0; i < 3; i++)
                {
                    o.Nodes.Add(nodes.ConnectionString(i));
                }
            })
            .AddIdempotency()
            .AddLeaderElection("secrets", async (term, ct) =>
            {
                lockIds.Enqueue(term.Lock.LockId);
                elected.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
            }, o =>
            {
                o.LeaseDuration = TimeSpan.FromSeconds(2);
                o.RenewDeadline = TimeSpan.FromSeconds(1.5);
                o.RetryPeriod = TimeSpan.FromMilliseconds(300);
            });
        builder.Services.AddHealthChecks().AddRedLock(timeout: TimeSpan.FromSeconds(5), slowThreshold: TimeSpan.FromSeconds(5));
        using var host = builder.Build();
        await host.StartAsync(Clusters.Bound());
        var locks = host.Services.GetRequiredService<IDistributedLockFactory>();
        var health = host.Services.GetRequiredService<HealthCheckService>();
        async Task CheckHealthAsync(string when)
        {
            var report = await health.CheckHealthAsync(Clusters.Bound());
            foreach (var (name, entry) in report.Entries)
            {
                said.Enqueue(($"health {when}", $"{name} {entry.Status} {entry.Description} {JsonSerializer.Serialize(entry.Data)} {entry.Exception}"));
            }
        }

        // a renewed one-second lease, contention, a timeout, fencing, a record, an election
        var clock = Stopwatch.StartNew();
        // 3 s, so that renewals (one node is frozen below) have room on a loaded machine; checked after 4 s
        var held = await locks.AcquireAsync("secrets:held", TimeSpan.FromSeconds(3), Clusters.Bound());
        lockIds.Enqueue(held.LockId);
        Assert.Null(await locks.TryAcquireAsync("secrets:held", Clusters.Bound()));
        Heard("timeout", await Assert.ThrowsAsync<LockTimeoutException>(() =>
            locks.AcquireAsync("secrets:held", new LockRequest { WaitTimeout = TimeSpan.FromMilliseconds(300) }, Clusters.Bound())));
        Assert.True(await held.GetFencingTokenAsync(Clusters.Bound()) > 0);
        var processor = host.Services.GetRequiredService<IdempotentProcessor>();
        var key = "secrets:" + Guid.NewGuid().ToString("N");
        Assert.True((await processor.RunOnceAsync(key, async ct =>
        {
            lockIds.Enqueue(await LockIdOfAsync(key));
            return 42;
        }, Clusters.Bound())).Executed);
        Assert.True((await processor.RunOnceAsync(key, _ => Task.FromResult(43), Clusters.Bound())).Replayed);
        await elected.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        await CheckHealthAsync("all up");
        Heard("ensure valid", Assert.Throws<LockLostException>(() => held.EnsureValid(TimeSpan.FromHours(1))));

        // errors: one node frozen, and a replica whose entry for another node has a wrong password
        var frozen = nodes.Cluster.Nodes[0];
        await frozen.PauseAsync();
        try
        {
            await CheckHealthAsync("node 0 frozen");
            var rival = await RedLockFactory.ConnectAsync(
                Clusters.Options([nodes.ConnectionString(0), nodes.ConnectionString(1), nodes.ConnectionString(2).Replace(nodes.Credentials.Password!, wrongPassword, StringComparison.Ordinal)], o =>
                {
                    o.LoggerFactory = logs;
                    o.ConfigureConnection = c => c.TrustIssuer(nodes.Credentials.CaCertificatePath!);
                }),
                Clusters.Bound());
            await using (rival)
            {
                Heard("quorum", await Assert.ThrowsAsync<QuorumUnavailableException>(() =>
                    rival.AcquireAsync("secrets:rival", new LockRequest { WaitTimeout = TimeSpan.Zero }, Clusters.Bound())));
                Heard("try, quorum", await Assert.ThrowsAsync<QuorumUnavailableException>(() => rival.TryAcquireAsync("secrets:fresh", Clusters.Bound())));
            }
        }
        finally
        {
            await frozen.ResumeAsync();
        }

        // the lease outlived its expiry only by renewals, then everything is let go
        var rest = TimeSpan.FromSeconds(4) - clock.Elapsed;
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest, TestContext.Current.CancellationToken);
        }

        Assert.Equal(LockStatus.Held, held.Status);
        await held.ReleaseAsync(Clusters.Bound());
        await host.StopAsync(Clusters.Bound());

        foreach (var line in logs.Lines.Concat(logs.Scopes))
        {
            said.Enqueue(("log", line));
        }

        foreach (var text in telemetry.Measurements)
        {
            said.Enqueue(("metric", text));
        }

        foreach (var text in telemetry.Activities)
        {
            said.Enqueue(("span", text));
        }

        // the search looked where secrets would be: errors were logged and thrown, every kind of output was seen
        Assert.Contains(logs.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal) || line.StartsWith("Error", StringComparison.Ordinal));
        Assert.Contains(said, s => s.Where.StartsWith("health", StringComparison.Ordinal) && s.Text.Contains("Degraded", StringComparison.Ordinal));
        Assert.Contains(said, s => s.Where == "metric");
        Assert.Contains(said, s => s.Where == "span");
        Assert.Contains(logs.Lines, line => line.Contains(held.LockId[..8], StringComparison.Ordinal)); // the prefix is logged: ids are where we look
        Assert.Equal(3, lockIds.Distinct().Count()); // the held lock, the record's lock, the leader's lock
        string[] secrets = [nodes.Credentials.Password!, wrongPassword, nodes.Credentials.AdminPassword!, nodes.ConnectionString(0)];
        var leaks = said
            .SelectMany(s => secrets.Where(secret => s.Text.Contains(secret, StringComparison.Ordinal)).Select(secret => $"a password in {s.Where}: {s.Text.Replace(secret, "<the secret>", StringComparison.Ordinal)}"))
            .Concat(said.SelectMany(s => lockIds.Where(id => ContainsWindowOf(s.Text, id)).Select(id => $"lock id {id[..8]}… in {s.Where}: {s.Text}")))
            .Take(5)
            .ToList();
        output.WriteLine($"searched {said.Count} texts: {said.GroupBy(s => s.Where).Select(g => $"{g.Key} {g.Count()}").Aggregate((a, b) => a + ", " + b)}");
        Assert.Empty(leaks);
    }

    /// <summary>The lock id standing on the nodes for the idempotency key's lock, read as the admin (the only string key holding 32 hex digits).</summary>
    private async Task<string> LockIdOfAsync(string key)
    {
        await using var admin = await nodes.AdminAsync(1);
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        await foreach (var name in server.KeysAsync(pattern: $"*{key}*"))
        {
            if (await admin.GetDatabase().KeyTypeAsync(name) == RedisType.String
                && (string?)await admin.GetDatabase().StringGetAsync(name) is { Length: 32 } id
                && id.All(char.IsAsciiHexDigitLower))
            {
                return id;
            }
        }

        throw new InvalidOperationException($"no lock id stands for {key}");
    }

    private static bool ContainsWindowOf(string text, string id)
    {
        for (var start = 0; start + LockIdWindow <= id.Length; start++)
        {
            if (text.Contains(id.AsSpan(start, LockIdWindow), StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
