using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedLockNet.Hosting.DependencyInjection;
using RedLockNet.Idempotency;
using RedLockNet.Tests.Unit.Integration;
using Webhooks;

namespace RedLockNet.Tests.Unit.Samples;

/// <summary>
/// samples/Webhooks as a provider sees it: the real app (its Program, its appsettings.json) hosted in memory by
/// <see cref="WebApplicationFactory{TEntryPoint}"/>, configured only through configuration, against the rig's real
/// nodes. Two app instances stand for two replicas: each has its own container and its own connections to the
/// nodes; they share a ledger, as replicas share a database, so the side effect can be counted.
/// </summary>
public sealed class WebhookSampleTests(ThreeNodes nodes) : FixtureTest(nodes), IClassFixture<ThreeNodes>
{
    [Fact]
    public async Task Fifty_concurrent_duplicates_over_two_instances_run_the_handler_once_and_all_get_its_result()
    {
        var ledger = new InMemoryLedger();
        // the handler works a moment, so most duplicates arrive while the first delivery is in progress and wait
        await using var a = new WebhookApp(Nodes, "a", ledger, ("Webhooks:ProcessingTime", "00:00:00.300"));
        await using var b = new WebhookApp(Nodes, "b", ledger, ("Webhooks:ProcessingTime", "00:00:00.300"));
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        var id = $"evt_{Guid.NewGuid():N}";
        Assert.Equal(Nodes.Endpoints, a.Services.GetRequiredService<IOptions<RedLockOptions>>().Value.Nodes); // the rig's, from configuration

        var deliveries = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => DeliverAsync(i % 2 == 0 ? clientA : clientB, id)));

        var statuses = string.Join(", ", deliveries.GroupBy(d => d.Status).Select(g => $"{g.Count()} x {(int)g.Key}"));
        Assert.True(deliveries.All(d => d.Status == HttpStatusCode.OK), $"not every delivery was answered 200: {statuses}; {a.Errors}{b.Errors}");
        var entry = Assert.Single(ledger.Entries);
        Assert.Equal(("stripe", id), (entry.Provider, entry.EventId));
        Assert.Single(deliveries, d => d.Replayed == "false"); // one ran it, 49 got the stored result
        Assert.All(deliveries, d => Assert.Equal(deliveries[0].Body, d.Body));
        Assert.Equal(entry, ParseEntry(deliveries[0].Body));
    }

    [Fact]
    public async Task A_crashed_instances_event_is_processed_once_by_the_other_after_its_lock_expires()
    {
        // The crash: instance A's handler is stuck holding the processing lock; then A's connections to the nodes are
        // closed (RedLockConnection.DisposeAsync, as a killed process's would be). Disposing the factory does not
        // release held locks: no renewal and no release reaches the nodes again, so A's lock stands there until its
        // TTL (Idempotency:LockExpiry, 4 s here) runs out after A's last renewal. B's delivery (InProgress = Wait)
        // polls until then, takes the lock and runs the handler. A's handler is cancelled when its lock is lost and
        // never makes its entry.
        var ledger = new InMemoryLedger();
        var stuck = new GatedLedger(ledger);
        var expiry = ("Idempotency:LockExpiry", "00:00:04");
        await using var a = new WebhookApp(Nodes, "a", stuck, expiry);
        await using var b = new WebhookApp(Nodes, "b", ledger, expiry);
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        var id = $"evt_{Guid.NewGuid():N}";
        Assert.Equal(TimeSpan.FromSeconds(4), a.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value.LockExpiry);

        var atA = DeliverAsync(clientA, id);
        await stuck.Entered.WaitAsync(Clusters.Bound());
        await a.Services.GetRequiredService<RedLockConnection>().DisposeAsync();
        var values = await Probe.ValuesAsync($"idempotency:stripe:{id}");
        Assert.True(values.Count(v => v is not null && v != NodeProbe.Down) >= 2, $"A's lock should still stand on a majority after the crash (nothing released): {string.Join(", ", values)}");

        var atB = await DeliverAsync(clientB, id);

        Assert.True(atB.Status == HttpStatusCode.OK, $"B answered {(int)atB.Status} {atB.Body}; {b.Errors}");
        Assert.Equal("false", atB.Replayed); // B ran it
        var entry = Assert.Single(ledger.Entries);
        Assert.Equal(("b", id), (entry.ProcessedBy, entry.EventId));
        Assert.Equal(entry, ParseEntry(atB.Body));
        var again = await DeliverAsync(clientB, id);
        Assert.Equal((HttpStatusCode.OK, "true", atB.Body), (again.Status, again.Replayed, again.Body));

        // A's stuck delivery ended when its lock was lost (its handler's token fired), without an entry
        var fromA = await atA.WaitAsync(Clusters.Bound());
        Assert.NotEqual(HttpStatusCode.OK, fromA.Status);
        Assert.Single(ledger.Entries);
    }

    [Fact]
    public async Task With_InProgress_Throw_a_duplicate_during_processing_gets_409_with_Retry_After_then_the_stored_result()
    {
        var ledger = new InMemoryLedger();
        var gate = new GatedLedger(ledger);
        // the long wait is what the switch turns off: were it ignored, the duplicate would wait here (and time out) instead
        await using var app = new WebhookApp(Nodes, "a", gate,
            ("Idempotency:InProgress", "Throw"), ("Idempotency:WaitTimeout", "00:10:00"), ("Webhooks:RetryAfterSeconds", "7"));
        using var client = app.CreateClient();
        var id = $"evt_{Guid.NewGuid():N}";
        Assert.Equal(InProgressBehavior.Throw, app.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value.InProgress);

        var first = DeliverAsync(client, id);
        await gate.Entered.WaitAsync(Clusters.Bound());
        var duplicate = await DeliverAsync(client, id);
        gate.Open();
        var processed = await first.WaitAsync(Clusters.Bound());
        var late = await DeliverAsync(client, id);

        Assert.True(duplicate.Status == HttpStatusCode.Conflict, $"the duplicate got {(int)duplicate.Status} {duplicate.Body}; {app.Errors}");
        Assert.Equal(TimeSpan.FromSeconds(7), duplicate.RetryAfter);
        Assert.True(processed.Status == HttpStatusCode.OK, $"the first delivery got {(int)processed.Status} {processed.Body}; {app.Errors}");
        Assert.Equal((HttpStatusCode.OK, "true", processed.Body), (late.Status, late.Replayed, late.Body));
        Assert.Single(ledger.Entries);
    }

    /// <summary>
    /// Posts event <paramref name="id"/> as a provider does. A 503 (the sample's answer when too few nodes answered
    /// in time: nothing ran) is delivered again, up to 5 times, as providers do; a loaded machine may see one.
    /// </summary>
    private static async Task<Delivery> DeliverAsync(HttpClient client, string id)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe") { Content = JsonContent.Create(new { type = "charge.succeeded" }) };
            request.Headers.Add("X-Event-Id", id);
            using var response = await client.SendAsync(request, Clusters.Bound());
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 5)
            {
                return new Delivery(
                    response.StatusCode,
                    await response.Content.ReadAsStringAsync(Clusters.Bound()),
                    response.Headers.TryGetValues("Idempotent-Replayed", out var replayed) ? replayed.Single() : null,
                    response.Headers.RetryAfter?.Delta);
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    private static LedgerEntry? ParseEntry(string body) => System.Text.Json.JsonSerializer.Deserialize<LedgerEntry>(body, System.Text.Json.JsonSerializerOptions.Web);

    private sealed record Delivery(HttpStatusCode Status, string Body, string? Replayed, TimeSpan? RetryAfter);

    /// <summary>One instance of the sample: its configuration says which nodes; the ledger it writes to is given.</summary>
    private sealed class WebhookApp(ClusterFixture nodes, string instance, ILedger ledger, params (string Key, string Value)[] settings)
        : WebApplicationFactory<Program>
    {
        private readonly ErrorLog _errors = new();

        /// <summary>The app's logged errors, for a failure message.</summary>
        public string Errors => _errors.Lines.IsEmpty ? string.Empty : $"{instance}'s errors: {string.Join(Environment.NewLine, _errors.Lines)}";

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            for (var i = 0; i < nodes.Endpoints.Count; i++)
            {
                builder.UseSetting($"RedLock:Nodes:{i}", nodes.Endpoints[i]);
            }

            builder.UseSetting("RedLock:NodeTimeout", "00:00:00.500"); // as every real-node test: a loaded CI machine answers slowly
            builder.UseSetting("Webhooks:Instance", instance);
            builder.UseSetting("Webhooks:ProcessingTime", "00:00:00");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureLogging(logging => logging.ClearProviders().AddProvider(_errors));
            builder.ConfigureTestServices(services => services.AddSingleton(ledger));
        }
    }

    /// <summary>Holds every delivery in its handler until opened: a delivery in progress, on demand.</summary>
    private sealed class GatedLedger(ILedger inner) : ILedger
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public IReadOnlyList<LedgerEntry> Entries => inner.Entries;

        public void Open() => _open.TrySetResult();

        public async Task<LedgerEntry> AppendAsync(string provider, string eventId, string processedBy, long fencingToken, CancellationToken cancellationToken)
        {
            _entered.TrySetResult();
            await _open.Task.WaitAsync(cancellationToken);
            return await inner.AppendAsync(provider, eventId, processedBy, fencingToken, cancellationToken);
        }
    }
}
