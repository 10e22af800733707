using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using RedLockNet;
using RedLockNet.Idempotency;
using RedLockNet.Samples;
using Webhooks;

// A webhook receiver that runs each event's handler once, however often and to however many replicas the provider
// delivers it. Every replica runs this same program against the same Redis nodes.
//
//   dotnet run --project samples/Webhooks          three embedded Garnet nodes (none configured), http://localhost:5080
//   dotnet run --project samples/Webhooks -- --RedLock:Nodes:0=a:6379 --RedLock:Nodes:1=b:6379 --RedLock:Nodes:2=c:6379 --Webhooks:Instance=replica-1 --Urls=http://localhost:5081
//
// POST /webhooks/{provider} with the event id in the X-Event-Id header, or else as "id" in the JSON body. The
// idempotency key is "{provider}:{id}". The first delivery runs the handler (a ledger entry, GET /ledger); every
// other delivery gets that run's stored result as its body. A duplicate that arrives while the first is in progress
// waits for it, or with Idempotency:InProgress=Throw gets 409 and a Retry-After header.
var builder = WebApplication.CreateBuilder(args);

using var embedded = builder.Configuration.GetSection("RedLock:Nodes").GetChildren().Any() ? null : new EmbeddedNodes(3);
if (embedded is not null)
{
    builder.Configuration.AddInMemoryCollection(embedded.Endpoints.Select((endpoint, i) => KeyValuePair.Create($"RedLock:Nodes:{i}", (string?)endpoint)));
}

var idempotency = builder.Configuration.GetSection("Idempotency");
builder.Services.AddRedLock(builder.Configuration.GetSection("RedLock"))   // options checked at start, naming the key
    .AddIdempotency(o => idempotency.Bind(o, b => b.ErrorOnUnknownConfiguration = true));
builder.Services.AddOptions<WebhookOptions>().BindConfiguration("Webhooks", b => b.ErrorOnUnknownConfiguration = true).ValidateOnStart();
builder.Services.AddSingleton<ILedger, InMemoryLedger>();
builder.Services.AddHealthChecks().AddRedLock(); // Healthy, Degraded (a minority down, slow or quarantined) or Unhealthy, per node in the data

await using var app = builder.Build();

app.MapPost("/webhooks/{provider}", async (
    string provider, [FromBody] JsonElement body, HttpContext http,
    IdempotentProcessor processor, ILedger ledger, IOptions<WebhookOptions> options, CancellationToken cancellationToken) =>
{
    var eventId = EventIdOf(http.Request, body);
    if (eventId is null)
    {
        return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "No event id",
            detail: "Send the event id in the X-Event-Id header or as \"id\" in the JSON body (at most 200 characters).");
    }

    var settings = options.Value;
    try
    {
        var outcome = await processor.RunOnceAsync($"{provider}:{eventId}", async (run, ct) =>
        {
            await Task.Delay(settings.ProcessingTime, ct);   // the work takes a while, so duplicates can arrive meanwhile
            return await ledger.AppendAsync(provider, eventId, settings.Instance, run.FencingToken, ct);
        }, cancellationToken: cancellationToken);
        http.Response.Headers["Idempotent-Replayed"] = outcome.Replayed ? "true" : "false";
        return Results.Ok(outcome.Result);
    }
    catch (IdempotencyInProgressException e)
    {
        // InProgress = Throw (or a Wait that ran out): the provider delivers again later and then gets the stored result
        http.Response.Headers.RetryAfter = settings.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "In progress", detail: e.Message);
    }
    catch (QuorumUnavailableException e)
    {
        // too few nodes answered to tell whether the event was processed: nothing ran; deliver again later
        http.Response.Headers.RetryAfter = settings.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Nodes unavailable", detail: e.Message);
    }
});
app.MapGet("/ledger", (ILedger ledger) => ledger.Entries);
app.MapHealthChecks("/healthz");

await app.StartAsync();
if (app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() is { } url)
{
    var nodes = string.Join(", ", app.Services.GetRequiredService<IOptions<RedLockOptions>>().Value.Nodes);
    Console.WriteLine($"webhooks listening on {url}; nodes {nodes}{(embedded is null ? "" : " (embedded Garnet)")}");
    Console.WriteLine($"  curl -i {url}/webhooks/stripe -H 'Content-Type: application/json' -H 'X-Event-Id: evt_1' -d '{{\"type\":\"charge.succeeded\"}}'");
    Console.WriteLine($"  (send it again, or twice at once: the same body, Idempotent-Replayed: true; one entry in {url}/ledger)");
}

await app.WaitForShutdownAsync();

static string? EventIdOf(HttpRequest request, JsonElement body)
{
    var id = request.Headers["X-Event-Id"].FirstOrDefault();
    if (string.IsNullOrWhiteSpace(id) && body.ValueKind == JsonValueKind.Object && body.TryGetProperty("id", out var property) && property.ValueKind == JsonValueKind.String)
    {
        id = property.GetString();
    }

    return string.IsNullOrWhiteSpace(id) || id.Length > 200 ? null : id;
}

/// <summary>The entry point; public so tests can host the app with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program
{
}

namespace Webhooks
{
    /// <summary>The "Webhooks" configuration section.</summary>
    public sealed class WebhookOptions
    {
        /// <summary>This replica's name, shown as <c>processedBy</c>. Default: machine name and process id.</summary>
        public string Instance { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

        /// <summary>How long the handler works before its side effect (the demo's stand-in for real work).</summary>
        public TimeSpan ProcessingTime { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>The Retry-After of a 409 (in progress) or 503 (nodes unavailable), in seconds.</summary>
        public int RetryAfterSeconds { get; set; } = 5;
    }
}
