using RedLockNet.Nodes;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Sim;

/// <summary>
/// A simulated node whose calls wait in a shared <see cref="NetworkScheduler"/> until the test decides their fate:
/// run and answer, run and lose the answer, or vanish. Lets a property test explore interleavings, late grants
/// and lost replies deterministically from a seed.
/// </summary>
internal sealed class ScheduledNode(SimulatedNode state, NetworkScheduler network) : ILockNode
{
    public string Name => state.Name;

    private readonly List<(string Key, string Id)> _releases = [];

    public SimulatedNode State => state;

    /// <summary>Every release a client sent this node (the lock key and id), whether it arrived or not.</summary>
    public IReadOnlyList<(string Key, string Id)> Releases
    {
        get
        {
            lock (_releases)
            {
                return [.. _releases];
            }
        }
    }

    public Task<RedisResult> RunAsync(ScriptCall call)
    {
        if (call.Script == ReleaseCall.Script)
        {
            var release = ReleaseCall.Read(call);
            lock (_releases)
            {
                _releases.Add(((string)release.LockKey!, release.LockId));
            }
        }

        if (!state.IsUp)
        {
            return state.RunAsync(call); // fails at once, as a closed port does
        }

        var pending = new TaskCompletionSource<RedisResult>();
        network.Enqueue(new NetworkCall(this, call, pending));
        return pending.Task;
    }
}

internal sealed record NetworkCall(ScheduledNode Node, ScriptCall Call, TaskCompletionSource<RedisResult> Reply)
{
    public LockScript Script => Call.Script;
}

/// <summary>The calls in flight between clients and nodes.</summary>
internal sealed class NetworkScheduler
{
    private readonly List<NetworkCall> _inFlight = [];

    public int Count
    {
        get
        {
            lock (_inFlight)
            {
                return _inFlight.Count;
            }
        }
    }

    public void Enqueue(NetworkCall call)
    {
        lock (_inFlight)
        {
            _inFlight.Add(call);
        }
    }

    /// <summary>Takes the call at <paramref name="index"/> (modulo the count) out of flight.</summary>
    public NetworkCall? Take(int index)
    {
        lock (_inFlight)
        {
            if (_inFlight.Count == 0)
            {
                return null;
            }

            var call = _inFlight[index % _inFlight.Count];
            _inFlight.Remove(call);
            return call;
        }
    }

    /// <summary>Takes the first call in flight that matches, or null.</summary>
    public NetworkCall? TakeWhere(Func<NetworkCall, bool> match)
    {
        lock (_inFlight)
        {
            var call = _inFlight.FirstOrDefault(match);
            if (call is not null)
            {
                _inFlight.Remove(call);
            }

            return call;
        }
    }

    private static readonly Func<string, Exception> Lost = name =>
        new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, $"{name}: reply lost", null, CommandStatus.Sent);

    /// <summary>Runs the call on its node and delivers the answer.</summary>
    public static void Deliver(NetworkCall call) =>
        call.Node.State.RunAsync(call.Call).ContinueWith(
            t => call.Reply.SetResult(t.Result), TaskContinuationOptions.ExecuteSynchronously);

    /// <summary>Runs the call on its node, but the answer never arrives (the client sees a failure).</summary>
    public static void RunAndLoseReply(NetworkCall call)
    {
        _ = call.Node.State.RunAsync(call.Call);
        call.Reply.SetException(Lost(call.Node.Name));
    }

    /// <summary>The call never reaches the node.</summary>
    public static void Drop(NetworkCall call) => call.Reply.SetException(Lost(call.Node.Name));
}
