using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.Election;
using RedLockNet.Idempotency;

namespace RedLockNet.Tests.Unit.Docs;

/// <summary>
/// The C# snippets of README.md, compiled. Each region between <c>// begin-snippet: NAME</c> and <c>// end-snippet</c>
/// (regions of one name joined by a blank line) must stand, to the letter, in the README code block under
/// <c>&lt;!-- snippet: NAME --&gt;</c>; <see cref="ReadmeSnippetTests"/> checks both ways.
/// </summary>
internal static class ReadmeSnippets
{
    public static async Task SemaphoreAsync(ISemaphoreFactory semaphores, Func<CancellationToken, Task> exportAsync, CancellationToken ct)
    {
        // begin-snippet: semaphore
        // at most 3 exports at a time across every replica; the rest wait (up to the wait timeout) for a permit
        await using var permit = await semaphores.AcquireSemaphoreAsync("exports", maxCount: 3, cancellationToken: ct);
        await exportAsync(permit.LostToken);   // renewed like a lock; LostToken fires if the permit is lost
        // end-snippet
    }

    public static async Task ReaderWriterAsync(IReaderWriterLockFactory rw, Func<CancellationToken, Task> readAsync, Func<long, CancellationToken, Task> rebuildAsync, CancellationToken ct)
    {
        // begin-snippet: reader-writer
        await using (var read = await rw.AcquireReadAsync("catalog", cancellationToken: ct))      // many readers at once
        {
            await readAsync(read.LostToken);
        }

        await using (var write = await rw.AcquireWriteAsync("catalog", cancellationToken: ct))    // one writer, no readers
        {
            await rebuildAsync(await write.GetFencingTokenAsync(ct), write.LostToken);           // the token orders writers
        }
        // end-snippet
    }

    public static void ConfigurationSection(HostApplicationBuilder builder)
    {
        // begin-snippet: di-section
        // binds the "RedLock" section; a bad node or TTL stops the host at start, naming the key (RedLock:Nodes:2)
        builder.Services.AddRedLock(builder.Configuration.GetSection("RedLock"));
        // end-snippet
    }

    public static void ConfigurationCallback(HostApplicationBuilder builder)
    {
        // begin-snippet: di-callback
        builder.Services.AddRedLock(o =>
        {
            o.Nodes.Add("10.0.0.1:6379");
            o.Nodes.Add("10.0.0.2:6379");
            o.Nodes.Add("10.0.0.3:6379");
            o.DefaultExpiry = TimeSpan.FromSeconds(20);
        });
        // end-snippet
    }

    public static void NamedInstances(HostApplicationBuilder builder)
    {
        // begin-snippet: di-named
        builder.Services.AddRedLock(builder.Configuration.GetSection("RedLock"));                         // unkeyed
        builder.Services.AddRedLock("payments", builder.Configuration.GetSection("PaymentsRedLock"))      // keyed "payments"
            .AddIdempotency();
        // end-snippet
    }

    public static void Idempotency(HostApplicationBuilder builder)
    {
        // begin-snippet: di-idempotency
        builder.Services.AddRedLock(builder.Configuration.GetSection("RedLock"))
            .AddIdempotency(o =>
            {
                o.Retention = TimeSpan.FromDays(3);
                o.InProgress = InProgressBehavior.Throw;   // a concurrent duplicate gets IdempotencyInProgressException at once
            });
        // end-snippet
    }

    public static void LeaderElection(HostApplicationBuilder builder)
    {
        // begin-snippet: di-leader
        builder.Services.AddRedLock(builder.Configuration.GetSection("RedLock"))
            .AddLeaderElection("partition-7", async (term, ct) =>
            {
                // one replica at a time, for as long as it leads; ct fires when the term ends or the host stops
                await ConsumePartitionAsync(7, term.Epoch, ct);
            }, o => o.Identity = Environment.MachineName)
            .AddLeaderElection<OutboxRelay>("outbox");                     // resolved in a new scope per term
        // end-snippet
    }

    public static void CronObserver(HostApplicationBuilder builder)
    {
        // begin-snippet: di-cron-observer
        builder.Services.AddRedLock(builder.Configuration.GetSection("RedLock"))
            .AddCronJob<NightlyReport>("0 2 * * *")
            .AddCronTickObserver<TickAlerts>();
        // end-snippet
    }

    public static async Task WebhookProcessorAsync(RedLockFactory locks, CancellationToken ct)
    {
        // begin-snippet: webhook-processor
        var idempotency = new IdempotentProcessor(locks);   // options: Retention 24 h, InProgress Wait/Throw, WaitTimeout, LockExpiry, MaxResultBytes, Serializer
        var outcome = await idempotency.RunOnceAsync("stripe:evt_123", async ct => await ChargeAsync(ct), ct);
        // outcome.Executed: this call ran it; outcome.Replayed: an earlier delivery did, and outcome.Result is its stored result
        // end-snippet
        _ = outcome;
    }

    public static void WebhookEndpoint(WebApplication app)
    {
        // begin-snippet: webhook-endpoint
        app.MapPost("/webhooks/stripe", async (StripeEvent evt, IdempotentProcessor idempotency, CancellationToken ct) =>
        {
            try
            {
                var outcome = await idempotency.RunOnceAsync($"stripe:{evt.Id}", c => HandleAsync(evt, c), ct);
                return Results.Ok(outcome.Result);
            }
            catch (IdempotencyInProgressException)
            {
                return Results.Conflict(); // with InProgress = Throw: the provider retries later
            }
        });
        // end-snippet
    }

    public static void ConcurrencyLimitServices(IServiceCollection services)
    {
        // begin-snippet: rate-limiter-middleware
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status503ServiceUnavailable;
            // at most 2 reports per tenant running at once across every replica; 20 more wait in each replica
            limiter.AddPolicy("reports", http => DistributedRateLimitPartition.GetConcurrencyLimiter(
                (string)http.Request.RouteValues["tenant"]!,
                http.RequestServices.GetRequiredService<ISemaphoreFactory>(),
                tenant => new DistributedConcurrencyLimiterOptions { Resource = $"reports:{tenant}", PermitLimit = 2, QueueLimit = 20 }));
        });
        // end-snippet
    }

    public static void ConcurrencyLimitEndpoint(WebApplication app, Func<string, CancellationToken, Task> buildReportAsync)
    {
        // begin-snippet: rate-limiter-middleware
        app.UseRateLimiter();
        app.MapPost("/tenants/{tenant}/reports", (string tenant, CancellationToken ct) => buildReportAsync(tenant, ct))
           .RequireRateLimiting("reports");
        // end-snippet
    }

    /// <summary>What the endpoint snippet's handler did, for the test that calls it.</summary>
    public static int Charges;

    private static Task ConsumePartitionAsync(int partition, long epoch, CancellationToken ct) => Task.Delay(Timeout.Infinite, ct);

    private static Task<string> ChargeAsync(CancellationToken ct) => Task.FromResult("charged");

    private static async Task<string> HandleAsync(StripeEvent evt, CancellationToken ct)
    {
        Interlocked.Increment(ref Charges);
        await Task.Delay(50, ct);
        return $"charged {evt.Id}";
    }
}

/// <summary>A webhook delivery, as the endpoint snippet reads it.</summary>
public sealed record StripeEvent(string Id);

/// <summary>Where snippets send their work.</summary>
public interface IOutbox
{
    Task RelayAsync(long epoch, CancellationToken cancellationToken);
}

/// <summary>Pages whoever is on call.</summary>
public interface IPager
{
    void Page(string message);
}

// begin-snippet: di-inject
public sealed class OrderService(IDistributedLockFactory locks)
{
    public async Task ShipAsync(string orderId, CancellationToken ct)
    {
        await using var l = await locks.AcquireAsync($"order:{orderId}", ct);
        // ... one replica ships this order at a time
    }
}

public sealed class PaymentService(
    [FromKeyedServices("payments")] IDistributedLockFactory locks,
    [FromKeyedServices("payments")] IdempotentProcessor idempotency)
{
    public IDistributedLockFactory Locks => locks;

    public IdempotentProcessor Idempotency => idempotency;
}
// end-snippet

// begin-snippet: di-leader
public sealed class OutboxRelay(IOutbox outbox) : ILeaderWork
{
    public async Task RunAsync(LeadershipTerm term, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await outbox.RelayAsync(term.Epoch, cancellationToken);   // the epoch fences writes of a deposed leader
        }
    }
}
// end-snippet

// begin-snippet: di-cron-observer
public sealed class TickAlerts(IPager pager) : ICronTickObserver
{
    public void OnTickSettled(CronTickEventArgs tick)   // on the runner's thread: keep it short
    {
        if (tick.Outcome is CronTickOutcome.Failed or CronTickOutcome.MissedPastGrace or CronTickOutcome.MissedQuorumUnavailable)
        {
            pager.Page($"{tick.JobName} at {tick.FireTime:O}: {tick.Outcome} {tick.Detail}");
        }
    }
}
// end-snippet

/// <summary>The cron job the observer snippet registers.</summary>
public sealed class NightlyReport : ICronJob
{
    public Task RunAsync(CronJobContext context, CancellationToken cancellationToken) => Task.CompletedTask;
}
