using Microsoft.Extensions.Time.Testing;
using RedLockNet.Engine;

namespace RedLockNet.Tests.Unit.Sim;

/// <summary>Simulated nodes on one fake clock, with a factory over them.</summary>
internal sealed class SimulatedCluster : IAsyncDisposable
{
    public SimulatedCluster(int count, Action<RedLockOptions>? configure = null)
    {
        Time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        Nodes = Enumerable.Range(0, count).Select(i => new SimulatedNode($"sim{i}:6379", Time)).ToArray();
        var options = new RedLockOptions { TimeProvider = Time };
        configure?.Invoke(options);
        Factory = RedLockFactory.CreateForNodes(Nodes, options);
    }

    public FakeTimeProvider Time { get; }

    public SimulatedNode[] Nodes { get; }

    public RedLockFactory Factory { get; }

    public static string KeyOf(string resource) => (string)LockKeys.For("redlock:", resource)!;

    public int ExtendCalls => Nodes.Sum(n => n.ExtendCalls);

    /// <summary>Moves the fake clock in small steps, letting the renewal loop (on the thread pool) keep up.</summary>
    public async Task AdvanceAsync(TimeSpan by, TimeSpan? step = null)
    {
        var stride = step ?? TimeSpan.FromMilliseconds(50);
        for (var moved = TimeSpan.Zero; moved < by; moved += stride)
        {
            Time.Advance(stride);
            await Settle();
        }
    }

    /// <summary>Gives thread-pool continuations (renewals, token callbacks) a moment to run.</summary>
    public static async Task Settle()
    {
        await Task.Delay(1);
        await Task.Yield();
    }

    /// <summary>Waits in real time (bounded) until <paramref name="condition"/> holds.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(5);
        }

        return true;
    }

    public ValueTask DisposeAsync() => Factory.DisposeAsync();
}
