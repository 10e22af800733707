using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedLockNet.Tests.Unit.Integration;

namespace RedLockNet.Tests.Unit.Docs;

/// <summary>
/// README.md's code cannot rot: every C# block marked <c>&lt;!-- snippet: NAME --&gt;</c> is, to the letter, a region of
/// <see cref="ReadmeSnippets"/> (which the build compiles), the appsettings.json block binds and validates, and the
/// webhook endpoint runs as written.
/// </summary>
public sealed partial class ReadmeSnippetTests(ThreeNodes nodes) : IClassFixture<ThreeNodes>
{
    private static readonly Lazy<string> Readme = new(() => File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md")));

    [Fact]
    public void Every_marked_csharp_block_of_the_readme_is_a_compiled_snippet_and_every_snippet_is_in_the_readme()
    {
        var compiled = CompiledSnippets();
        var documented = ReadmeBlocks().Where(b => b.Language == "csharp").ToDictionary(b => b.Name, b => b.Code, StringComparer.Ordinal);

        Assert.True(compiled.Count >= 9, $"only {compiled.Count} snippets found in ReadmeSnippets.cs");
        Assert.Empty(compiled.Keys.Except(documented.Keys).Select(name => $"snippet '{name}' has no <!-- snippet: {name} --> block in README.md"));
        Assert.Empty(documented.Keys.Except(compiled.Keys).Select(name => $"README block '{name}' has no region in ReadmeSnippets.cs"));
        foreach (var (name, code) in compiled)
        {
            Assert.True(code == documented[name], $"README block '{name}' differs from ReadmeSnippets.cs:{Environment.NewLine}--- compiled{Environment.NewLine}{code}{Environment.NewLine}--- README{Environment.NewLine}{documented[name]}");
        }
    }

    [Fact]
    public void The_appsettings_block_binds_and_validates_for_the_default_and_the_named_instance()
    {
        var json = Assert.Single(ReadmeBlocks(), b => b.Name == "appsettings").Code;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var services = new ServiceCollection();
        services.AddRedLock(configuration.GetSection("RedLock"));
        services.AddRedLock("payments", configuration.GetSection("PaymentsRedLock"));
        using var provider = services.BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<RedLockOptions>>();

        var locks = monitor.CurrentValue; // validated on creation, as at host start
        var payments = monitor.Get("payments");

        Assert.Equal(3, locks.Nodes.Count);
        Assert.Equal(TimeSpan.FromSeconds(30), locks.DefaultExpiry);
        Assert.Equal(RestartQuarantineMode.WhenNotPersistent, locks.RestartQuarantine);
        Assert.Equal(3, payments.Nodes.Count);
        Assert.Equal("payments:", payments.KeyPrefix);
    }

    [Fact]
    public async Task The_webhook_endpoint_runs_the_handler_once_for_duplicate_deliveries()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var errors = new ErrorLog();
        builder.Logging.AddProvider(errors);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddRedLock(o =>
        {
            foreach (var endpoint in nodes.Endpoints)
            {
                o.Nodes.Add(endpoint);
            }

            o.NodeTimeout = TimeSpan.FromMilliseconds(500); // as every real-node test: a loaded CI machine answers slowly
        }).AddIdempotency();
        await using var app = builder.Build();
        ReadmeSnippets.WebhookEndpoint(app);
        await app.StartAsync(Clusters.Bound());
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        var id = $"evt_{Guid.NewGuid():N}";
        var before = Volatile.Read(ref ReadmeSnippets.Charges);

        // as a provider delivers: a 5xx (say, too few nodes answered in time on a loaded machine) is delivered again
        async Task<HttpResponseMessage> DeliverAsync()
        {
            for (var attempt = 1; ; attempt++)
            {
                var response = await http.PostAsJsonAsync("/webhooks/stripe", new StripeEvent(id), Clusters.Bound());
                if ((int)response.StatusCode < 500 || attempt == 5)
                {
                    return response;
                }

                await Task.Delay(200, TestContext.Current.CancellationToken);
            }
        }

        var deliveries = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => DeliverAsync()));
        var late = await DeliverAsync();

        Assert.True(deliveries.Append(late).All(r => r.StatusCode == HttpStatusCode.OK), $"not every delivery was answered 200: {string.Join("; ", deliveries.Append(late).Select(r => r.StatusCode))}; errors: {string.Join(Environment.NewLine, errors.Lines)}");
        Assert.All(deliveries.Append(late), r => Assert.Equal($"\"charged {id}\"", r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken).Result));
        Assert.Equal(1, Volatile.Read(ref ReadmeSnippets.Charges) - before);
        await app.StopAsync(Clusters.Bound());
    }

    [Fact]
    public async Task The_rate_limiter_middleware_caps_each_tenant_across_two_replicas_and_serves_every_request()
    {
        var running = new Dictionary<string, int> { ["acme"] = 0, ["globex"] = 0 };
        var most = new Dictionary<string, int> { ["acme"] = 0, ["globex"] = 0 };
        async Task BuildReportAsync(string tenant, CancellationToken ct)
        {
            lock (running)
            {
                most[tenant] = Math.Max(most[tenant], ++running[tenant]);
            }

            await Task.Delay(100, ct);
            lock (running)
            {
                running[tenant]--;
            }
        }

        var prefix = $"mw{Guid.NewGuid():N}:"; // both replicas share it, so they share each tenant's permits
        var replicas = new List<WebApplication>();
        var clients = new List<HttpClient>();
        try
        {
            for (var replica = 0; replica < 2; replica++)
            {
                var builder = WebApplication.CreateSlimBuilder();
                builder.Logging.ClearProviders();
                builder.WebHost.UseUrls("http://127.0.0.1:0");
                builder.Services.AddRedLock(o =>
                {
                    foreach (var endpoint in nodes.Endpoints)
                    {
                        o.Nodes.Add(endpoint);
                    }

                    o.NodeTimeout = TimeSpan.FromMilliseconds(500);
                    o.KeyPrefix = prefix;
                });
                ReadmeSnippets.ConcurrencyLimitServices(builder.Services);
                var app = builder.Build();
                replicas.Add(app);
                ReadmeSnippets.ConcurrencyLimitEndpoint(app, BuildReportAsync);
                await app.StartAsync(Clusters.Bound());
                var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
                clients.Add(new HttpClient { BaseAddress = new Uri(address) });
            }

            // 16 requests, alternating replicas and tenants, all at once
            var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
                clients[i % 2].PostAsync($"/tenants/{(i / 2 % 2 == 0 ? "acme" : "globex")}/reports", null, Clusters.Bound())));

            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            Assert.Equal(2, most["acme"]);   // never more than the limit across both replicas, and the limit is used
            Assert.Equal(2, most["globex"]); // each tenant has its own permits
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }

            foreach (var app in replicas)
            {
                await app.StopAsync(Clusters.Bound());
                await app.DisposeAsync();
            }
        }
    }

    /// <summary>The regions of ReadmeSnippets.cs by name, each dedented, regions of one name joined by a blank line.</summary>
    private static Dictionary<string, string> CompiledSnippets()
    {
        var source = File.ReadAllText(Path.Combine(RepositoryRoot(), "tests", "Unit", "Docs", "ReadmeSnippets.cs")).ReplaceLineEndings("\n");
        var snippets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match region in Region().Matches(source))
        {
            var code = Dedent(region.Groups["code"].Value);
            var name = region.Groups["name"].Value;
            snippets[name] = snippets.TryGetValue(name, out var earlier) ? $"{earlier}\n\n{code}" : code;
        }

        return snippets;
    }

    /// <summary>The README's marked blocks: the fenced block right under each <c>&lt;!-- snippet: NAME --&gt;</c>.</summary>
    private static List<(string Name, string Language, string Code)> ReadmeBlocks() =>
        [.. Marked().Matches(Readme.Value.ReplaceLineEndings("\n")).Select(m => (m.Groups["name"].Value, m.Groups["language"].Value, m.Groups["code"].Value.TrimEnd('\n')))];

    private static string Dedent(string code)
    {
        var lines = code.TrimEnd('\n', ' ').Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart(' ').Length);
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart(' ')));
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RedLockNet.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds RedLockNet.sln");
    }

    [GeneratedRegex(@"^[ ]*// begin-snippet: (?<name>[a-z-]+)\n(?<code>.*?)^[ ]*// end-snippet$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Region();

    [GeneratedRegex(@"^<!-- snippet: (?<name>[a-z-]+) -->\n```(?<language>[a-z]+)\n(?<code>.*?)^```$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Marked();
}
