extern alias RedLockNetBaseline;

using System.Collections.Concurrent;
using Medallion.Threading.Redis;
using StackExchange.Redis;
using BaselineFactory = RedLockNetBaseline::RedLockNet.SERedis.RedLockFactory;
using BaselineLock = RedLockNetBaseline::RedLockNet.IRedLock;
using BaselineMultiplexer = RedLockNetBaseline::RedLockNet.SERedis.Configuration.RedLockMultiplexer;

namespace RedLockNet.Benchmarks.Load;

/// <summary>The four clients the load mode compares, in table order.</summary>
internal enum ClientKind
{
    RedLockNet,
    DistributedLock,
    RedLockDotNet,
    Floor,
}

/// <summary>
/// One lock client of the load mode, on its own connections (one multiplexer per node), reduced to the three calls the
/// scenarios make. A handle is whatever the client returns; <see langword="null"/> means "not acquired".
/// </summary>
internal abstract class LoadClient : IAsyncDisposable
{
    /// <summary>The lock expiry of every acquisition, for every client (RedLockNet's and DistributedLock's default too).</summary>
    public static readonly TimeSpan Expiry = TimeSpan.FromSeconds(30);

    protected LoadClient(ClientKind kind) => Kind = kind;

    public ClientKind Kind { get; }

    public static string NameOf(ClientKind kind) => kind switch
    {
        ClientKind.RedLockNet => "RedLockNet",
        ClientKind.DistributedLock => "DistributedLock.Redis",
        ClientKind.RedLockDotNet => "RedLock.net",
        _ => "floor",
    };

    /// <summary>
    /// Connects a new client of <paramref name="kind"/> with its own connections; <paramref name="fairOrder"/> turns on
    /// RedLockNet's <see cref="RedLockOptions.FairOrder"/> (the others have no such mode).
    /// </summary>
    public static async Task<LoadClient> ConnectAsync(ClientKind kind, IReadOnlyList<string> endpoints, int seed, bool fairOrder = false) => kind switch
    {
        ClientKind.RedLockNet => await RedLockNetClient.ConnectAsync(endpoints, fairOrder),
        ClientKind.DistributedLock => new DistributedLockClient(await ConnectMultiplexersAsync(endpoints)),
        ClientKind.RedLockDotNet => new RedLockDotNetClient(await ConnectMultiplexersAsync(endpoints)),
        _ => await FloorLock.ConnectAsync(endpoints, seed),
    };

    /// <summary>One multiplexer per node: no backlog (a command to a dead node fails at once), start even if a node is down.</summary>
    public static async Task<ConnectionMultiplexer[]> ConnectMultiplexersAsync(IReadOnlyList<string> endpoints) =>
        await Task.WhenAll(endpoints.Select(endpoint => ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { endpoint },
            AbortOnConnectFail = false,
            BacklogPolicy = BacklogPolicy.FailFast,
        })));

    /// <summary>One attempt, no wait.</summary>
    public abstract Task<object?> TryAcquireAsync(string resource, CancellationToken cancellationToken);

    /// <summary>Waits up to <paramref name="wait"/> with the client's own retry; <see langword="null"/> when it timed out.</summary>
    public abstract Task<object?> AcquireAsync(string resource, TimeSpan wait, CancellationToken cancellationToken);

    public abstract ValueTask ReleaseAsync(object handle);

    public abstract ValueTask DisposeAsync();

    protected static async ValueTask DisposeAllAsync(IEnumerable<ConnectionMultiplexer> multiplexers)
    {
        foreach (var multiplexer in multiplexers)
        {
            await multiplexer.DisposeAsync();
        }
    }
}

/// <summary>RedLockNet with its defaults: <c>RedLockFactory.ConnectAsync</c> makes its own connections (FailFast, AbortOnConnectFail=false).</summary>
internal sealed class RedLockNetClient : LoadClient
{
    private readonly RedLockFactory factory;
    private readonly ConcurrentDictionary<TimeSpan, LockRequest> waits = new();

    private RedLockNetClient(RedLockFactory factory)
        : base(ClientKind.RedLockNet) => this.factory = factory;

    public static async Task<RedLockNetClient> ConnectAsync(IReadOnlyList<string> endpoints, bool fairOrder = false)
    {
        // only the expiry is set, to the value every client uses (it is also RedLockNet's default), and fair order when asked
        var options = new RedLockOptions { DefaultExpiry = Expiry, FairOrder = fairOrder };
        foreach (var endpoint in endpoints)
        {
            options.Nodes.Add(endpoint);
        }

        return new RedLockNetClient(await RedLockFactory.ConnectAsync(options));
    }

    public override async Task<object?> TryAcquireAsync(string resource, CancellationToken cancellationToken) =>
        await factory.TryAcquireAsync(resource, null, cancellationToken);

    public override async Task<object?> AcquireAsync(string resource, TimeSpan wait, CancellationToken cancellationToken)
    {
        var request = waits.GetOrAdd(wait, static w => new LockRequest { WaitTimeout = w });
        try
        {
            return await factory.AcquireAsync(resource, request, cancellationToken);
        }
        catch (LockTimeoutException)
        {
            return null;
        }
    }

    public override ValueTask ReleaseAsync(object handle) => ((ILockHandle)handle).ReleaseAsync(CancellationToken.None);

    public override ValueTask DisposeAsync() => factory.DisposeAsync();
}

/// <summary>DistributedLock.Redis 1.1.1 in Redlock mode: one <see cref="RedisDistributedLock"/> per resource over the 3 databases, expiry 30 s.</summary>
internal sealed class DistributedLockClient : LoadClient
{
    private readonly ConnectionMultiplexer[] multiplexers;
    private readonly IDatabase[] databases;
    private readonly ConcurrentDictionary<string, RedisDistributedLock> locks = new(StringComparer.Ordinal);

    public DistributedLockClient(ConnectionMultiplexer[] multiplexers)
        : base(ClientKind.DistributedLock)
    {
        this.multiplexers = multiplexers;
        databases = [.. multiplexers.Select(m => m.GetDatabase())];
    }

    public override async Task<object?> TryAcquireAsync(string resource, CancellationToken cancellationToken) =>
        await LockFor(resource).TryAcquireAsync(TimeSpan.Zero, cancellationToken);

    public override async Task<object?> AcquireAsync(string resource, TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            return await LockFor(resource).AcquireAsync(wait, cancellationToken);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    public override ValueTask ReleaseAsync(object handle) => ((RedisDistributedLockHandle)handle).DisposeAsync();

    public override ValueTask DisposeAsync() => DisposeAllAsync(multiplexers);

    private RedisDistributedLock LockFor(string resource) =>
        locks.GetOrAdd(resource, static (name, dbs) => new RedisDistributedLock(name, dbs, o => o.Expiry(Expiry)), databases);
}

/// <summary>
/// RedLock.net 2.3.2 with its defaults (<c>RedLockFactory.Create(multiplexers)</c>): every <c>CreateLockAsync</c> makes up to
/// 3 quorum attempts with a random pause of up to 400 ms between them, and waits for every node's answer.
/// </summary>
internal sealed class RedLockDotNetClient : LoadClient
{
    /// <summary>RedLock.net has no default retry interval for a waiting acquire; this is the one its README shows.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private readonly ConnectionMultiplexer[] multiplexers;
    private readonly BaselineFactory factory;

    public RedLockDotNetClient(ConnectionMultiplexer[] multiplexers)
        : base(ClientKind.RedLockDotNet)
    {
        this.multiplexers = multiplexers;
        factory = BaselineFactory.Create([.. multiplexers.Select(m => new BaselineMultiplexer(m))]);
    }

    public override async Task<object?> TryAcquireAsync(string resource, CancellationToken cancellationToken) =>
        await AcquiredOrNullAsync(await factory.CreateLockAsync(resource, Expiry));

    public override async Task<object?> AcquireAsync(string resource, TimeSpan wait, CancellationToken cancellationToken) =>
        await AcquiredOrNullAsync(await factory.CreateLockAsync(resource, Expiry, wait, RetryInterval, cancellationToken));

    public override ValueTask ReleaseAsync(object handle) => ((BaselineLock)handle).DisposeAsync();

    public override async ValueTask DisposeAsync()
    {
        factory.Dispose(); // leaves caller-owned multiplexers open
        await DisposeAllAsync(multiplexers);
    }

    /// <summary>A lock that was not acquired is still disposed, as its README's <c>await using</c> does (one more unlock round).</summary>
    private static async Task<object?> AcquiredOrNullAsync(BaselineLock redLock)
    {
        if (redLock.IsAcquired)
        {
            return redLock;
        }

        await redLock.DisposeAsync();
        return null;
    }
}
