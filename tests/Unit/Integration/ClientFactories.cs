namespace RedLockNet.Tests.Unit.Integration;

/// <summary>Several clients (factories, each with its own connections) over one set of nodes, disposed together.</summary>
internal sealed class ClientFactories : IAsyncDisposable
{
    private readonly List<RedLockFactory> _factories = [];

    /// <summary>Client <paramref name="caller"/> % count: callers spread over the clients.</summary>
    public RedLockFactory this[int caller] => _factories[caller % _factories.Count];

    public static async Task<ClientFactories> ConnectAsync(IEnumerable<string> endpoints, int count)
    {
        var clients = new ClientFactories();
        for (var i = 0; i < count; i++)
        {
            clients._factories.Add(await RedLockFactory.ConnectAsync(Clusters.Options(endpoints), Clusters.Bound()));
        }

        return clients;
    }

    /// <summary>Raises <paramref name="target"/> to <paramref name="value"/> when higher, atomically.</summary>
    public static void RaiseTo(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var factory in _factories)
        {
            await factory.DisposeAsync();
        }
    }
}
