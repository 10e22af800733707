using System.Diagnostics;
using System.Globalization;

namespace RedLockNet.TestRig;

/// <summary>
/// A set of independent Redis-compatible servers on free 127.0.0.1 ports, for tests that need real nodes to
/// fail. Disposing it kills every server it started; servers are also killed when the test process exits, and
/// those of a test process that died are killed by the next cluster that starts.
/// </summary>
public sealed class TestNodeCluster : IAsyncDisposable
{
    private readonly TestNode[] nodes;
    private readonly Action<string> log;
    private readonly SecurityFiles? security;
    private int disposed;

    private TestNodeCluster(NodeBackend backend, TestNode[] nodes, Action<string> log, SecurityFiles? security)
    {
        Backend = backend;
        this.nodes = nodes;
        this.log = log;
        this.security = security;
        Credentials = security?.Credentials;
        Nodes = Array.AsReadOnly(nodes);
        Endpoints = Array.AsReadOnly(nodes.Select(node => node.Endpoint).ToArray());
    }

    /// <summary>The kind of server the nodes run.</summary>
    public NodeBackend Backend { get; }

    /// <summary>The nodes, in start order.</summary>
    public IReadOnlyList<TestNode> Nodes { get; }

    /// <summary>The nodes' endpoints (<c>127.0.0.1:port</c>), in the order of <see cref="Nodes"/>; they survive restarts.</summary>
    public IReadOnlyList<string> Endpoints { get; }

    /// <summary>How to reach nodes started with a <see cref="NodeSecurity"/> (user, passwords, CA); <see langword="null"/> for open nodes.</summary>
    public NodeCredentials? Credentials { get; }

    /// <summary>The TLS and ACL files of a secured cluster (for tests that speak TLS to the nodes themselves).</summary>
    internal SecurityFiles? SecurityFiles => security;

    /// <summary>Starts <paramref name="count"/> nodes in parallel and waits until each answers <c>PING</c>.</summary>
    /// <param name="count">How many nodes to start (at least 1).</param>
    /// <param name="backend">The server kind; <see langword="null"/> for <see cref="NodeBackendSelector.FromEnvironment"/>.</param>
    /// <param name="cancellationToken">Cancels the start; nodes already started are killed.</param>
    /// <exception cref="TestNodeStartException">A node did not start or answer in time (the message has its output).</exception>
    public static Task<TestNodeCluster> StartAsync(int count, NodeBackend? backend, CancellationToken cancellationToken) =>
        StartAsync(count, backend, log: null, cancellationToken);

    /// <summary>Starts <paramref name="count"/> nodes in parallel and waits until each answers <c>PING</c>.</summary>
    /// <param name="count">How many nodes to start (at least 1).</param>
    /// <param name="backend">The server kind; <see langword="null"/> for <see cref="NodeBackendSelector.FromEnvironment"/>.</param>
    /// <param name="log">Where to report what was started, killed, paused...; <see langword="null"/> for the console. A throwing sink (e.g. a finished test's output) is ignored.</param>
    /// <param name="cancellationToken">Cancels the start; nodes already started are killed.</param>
    /// <exception cref="TestNodeStartException">A node did not start or answer in time (the message has its output).</exception>
    public static Task<TestNodeCluster> StartAsync(int count, NodeBackend? backend = null, Action<string>? log = null, CancellationToken cancellationToken = default) =>
        StartAsync(count, security: null, backend, log, cancellationToken);

    /// <summary>
    /// Starts <paramref name="count"/> nodes locked down as <paramref name="security"/> says (TLS only, an ACL user),
    /// in parallel, and waits until each answers <c>PING</c> (over TLS, as the rig's admin user). The certificates and
    /// the ACL file live in a temp folder deleted when the cluster is disposed.
    /// </summary>
    /// <param name="count">How many nodes to start (at least 1).</param>
    /// <param name="security">TLS and ACL settings; <see langword="null"/> for open nodes.</param>
    /// <param name="backend">The server kind (not <see cref="NodeBackend.Testcontainers"/> with security); <see langword="null"/> for <see cref="NodeBackendSelector.FromEnvironment"/>.</param>
    /// <param name="log">Where to report what was started, killed, paused...; <see langword="null"/> for the console.</param>
    /// <param name="cancellationToken">Cancels the start; nodes already started are killed.</param>
    /// <exception cref="TestNodeStartException">A node did not start or answer in time, or openssl failed.</exception>
    public static async Task<TestNodeCluster> StartAsync(int count, NodeSecurity? security, NodeBackend? backend = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var sink = SafeSink(log ?? Console.WriteLine);
        var chosen = backend ?? NodeBackendSelector.FromEnvironment();
        if (chosen != NodeBackend.Testcontainers)
        {
            NodeProcessRegistry.SweepOrphans(sink);
        }

        var clock = Stopwatch.StartNew();
        var files = security is null ? null : await SecurityFiles.CreateAsync(security, chosen, cancellationToken);
        TestNode[] nodes = [];
        try
        {
            var createRuntime = NodeRuntimeFactory.For(chosen, sink, files);
            nodes = Enumerable.Range(0, count).Select(_ => new TestNode(createRuntime(), chosen, sink)).ToArray();
            await Task.WhenAll(nodes.Select(node => node.StartAsync(cancellationToken)));
        }
        catch
        {
            await DisposeAllAsync(nodes);
            files?.Dispose();
            throw;
        }

        var started = string.Join(", ", nodes.Select(node => node.ProcessId is { } pid
            ? string.Create(CultureInfo.InvariantCulture, $"{node.Endpoint} (pid {pid})")
            : node.Endpoint));
        var secured = security is null ? string.Empty : $" ({(security.Tls ? "TLS only" : "plain")}{(security.User is null ? string.Empty : ", ACL user " + security.User)})";
        sink(string.Create(CultureInfo.InvariantCulture, $"[rig] started {count} {chosen} node(s){secured} in {clock.ElapsedMilliseconds} ms: {started}"));
        return new TestNodeCluster(chosen, nodes, sink, files);
    }

    /// <summary>Kills every server of the cluster (paused ones too) and waits until they are gone. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await DisposeAllAsync(nodes);
        security?.Dispose();
        log($"[rig] disposed the {Backend} cluster {string.Join(", ", Endpoints)}");
    }

    private static Task DisposeAllAsync(IEnumerable<TestNode> nodes) =>
        Task.WhenAll(nodes.Select(node => node.DisposeAsync().AsTask()));

    private static Action<string> SafeSink(Action<string> log) => message =>
    {
        try
        {
            log(message);
        }
        catch (InvalidOperationException)
        {
            // e.g. ITestOutputHelper after its test finished
        }
    };
}
