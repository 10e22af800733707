using System.Globalization;
using Microsoft.Extensions.Time.Testing;

namespace RedLockNet.Tests.Unit.Sim;

/// <summary>What one step of a schedule does.</summary>
internal enum StepKind
{
    /// <summary>Client <c>Arg</c> acts: releases what it holds, or else starts an attempt (when none is running).</summary>
    Act,

    /// <summary>The call in flight at <c>Arg</c> (modulo their count) runs and is answered.</summary>
    Deliver,

    /// <summary>The call in flight at <c>Arg</c> runs, but its answer is lost.</summary>
    LoseReply,

    /// <summary>The call in flight at <c>Arg</c> never reaches its node.</summary>
    Drop,

    /// <summary>Every call in flight is answered, including the calls their answers lead to.</summary>
    DeliverAll,

    /// <summary>The shared clock moves <c>Arg</c> milliseconds (timeouts fire, leases renew or expire).</summary>
    Advance,

    /// <summary>Node <c>Arg</c> goes down, keeping its data.</summary>
    Crash,

    /// <summary>Node <c>Arg</c> comes back with its data.</summary>
    Restart,

    /// <summary>
    /// Node <c>Arg</c> comes back empty, only when it has been down longer than any lease: the delayed restart
    /// Redlock requires (what restart quarantine enforces on real nodes). Sooner, it stays down.
    /// </summary>
    RestartEmpty,
}

internal readonly record struct ScheduleStep(StepKind Kind, int Arg)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Kind}({Arg})");
}

/// <summary>
/// Clients of one primitive against scheduled simulated nodes, driven by a schedule of steps: calls answered in any
/// order, answers lost, calls dropped, nodes crashing and coming back (empty only after the longest lease), node clocks
/// running slightly fast or slow, wall clocks skewed, time moving so that timeouts fire and leases renew or expire.
/// After every step an invariant is checked over the holds the clients believe valid. At the end the network heals,
/// every hold is released, and every grant a node made must have been answered by a release sent to that node, so
/// nothing an attempt took is left to block others until its ttl.
/// </summary>
internal sealed class ScheduleRun : IAsyncDisposable
{
    /// <summary>The longest lease a run asks for; a node restarts empty only after being down longer (with margin).</summary>
    public static readonly TimeSpan MaxExpiry = TimeSpan.FromMilliseconds(2000);

    private readonly Random _random;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);
    private readonly NetworkScheduler _network = new();
    private readonly ScheduledNode[] _nodes;
    private readonly RedLockFactory[] _clients;
    private readonly Task<Hold?>?[] _attempts;
    private readonly Hold?[] _holds;
    private readonly long?[] _downSince;
    private readonly List<Task> _releases = [];
    private readonly List<string> _trace = [];

    /// <summary>What a client holds: a label, the validity it believes it has left, and how to release it.</summary>
    public sealed record Hold(int Client, string Kind, Func<TimeSpan> Validity, Func<Task> Release);

    /// <summary>One attempt of <paramref name="client"/> through its factory: a hold, or null when refused.</summary>
    public delegate Task<Hold?> Attempt(RedLockFactory factory, int client, LockRequest request, Random random);

    public ScheduleRun(int seed, int nodeCount, int clientCount, SimulatedFlaw flaw = SimulatedFlaw.None)
    {
        _random = new Random(seed);
        _nodes = [.. Enumerable.Range(0, nodeCount).Select(i =>
            new ScheduledNode(new SimulatedNode($"sim{i}:6379", new DriftingTimeProvider(_time, (_random.NextDouble() - 0.5) * 0.016)) { Flaw = flaw }, _network))];
        _clients = [.. Enumerable.Range(0, clientCount).Select(_ => RedLockFactory.CreateForNodes(_nodes, new RedLockOptions
        {
            TimeProvider = new SkewedTimeProvider(_time, TimeSpan.FromMilliseconds(_random.Next(-5000, 5000))),
            AutoRenew = _random.Next(2) == 0,
        }))];
        _attempts = new Task<Hold?>?[clientCount];
        _holds = new Hold?[clientCount];
        _downSince = new long?[nodeCount];
    }

    public int NodeCount => _nodes.Length;

    /// <summary>How the run went: attempts that got a hold, were refused, failed for want of a quorum; the most holds valid at once.</summary>
    public (int Held, int Refused, int NoQuorum, int MostAtOnce) Tally => (_held, _refused, _noQuorum, _mostAtOnce);

    private int _held;
    private int _refused;
    private int _noQuorum;
    private int _mostAtOnce;

    /// <summary>A random schedule of <paramref name="count"/> steps for <paramref name="nodes"/> nodes and <paramref name="clients"/> clients.</summary>
    public static List<ScheduleStep> RandomSteps(Random random, int count, int nodes, int clients)
    {
        var steps = new List<ScheduleStep>(count);
        for (var i = 0; i < count; i++)
        {
            var roll = random.Next(100);
            steps.Add(roll switch
            {
                < 30 => new(StepKind.Act, random.Next(clients)),
                < 55 => new(StepKind.Deliver, random.Next(16)),
                < 60 => new(StepKind.LoseReply, random.Next(16)),
                < 65 => new(StepKind.Drop, random.Next(16)),
                < 72 => new(StepKind.DeliverAll, 0),
                < 82 => new(StepKind.Advance, random.Next(1, 60)),     // a little: calls stay in flight
                < 87 => new(StepKind.Advance, random.Next(60, 1500)),  // timeouts fire, leases renew or run out
                < 92 => new(StepKind.Crash, random.Next(nodes)),
                < 96 => new(StepKind.Restart, random.Next(nodes)),
                _ => new(StepKind.RestartEmpty, random.Next(nodes)),
            });
        }

        return steps;
    }

    /// <summary>
    /// Runs <paramref name="steps"/> with <paramref name="attempt"/> as every client's attempt, checking
    /// <paramref name="invariant"/> (which returns a violation or null) over the believed-valid holds after each step.
    /// Returns the first violation with the steps that led to it, or null.
    /// </summary>
    public async Task<string?> RunAsync(IEnumerable<ScheduleStep> steps, Attempt attempt, Func<IReadOnlyList<Hold>, string?> invariant)
    {
        foreach (var step in steps)
        {
            _trace.Add(step.ToString());
            await TakeAsync(step, attempt);
            if ((Harvest() ?? Check(invariant)) is { } violation)
            {
                return Report(violation);
            }
        }

        return await HealAndReleaseAsync() is { } leftover ? Report(leftover) : null;
    }

    private string Report(string violation) => $"{violation}; after {string.Join(' ', _trace)}";

    private async Task TakeAsync(ScheduleStep step, Attempt attempt)
    {
        switch (step.Kind)
        {
            case StepKind.Act:
                Act(step.Arg % _clients.Length, attempt);
                break;
            case StepKind.Deliver when _network.Take(step.Arg) is { } call:
                NetworkScheduler.Deliver(call);
                break;
            case StepKind.LoseReply when _network.Take(step.Arg) is { } call:
                NetworkScheduler.RunAndLoseReply(call);
                break;
            case StepKind.Drop when _network.Take(step.Arg) is { } call:
                NetworkScheduler.Drop(call);
                break;
            case StepKind.DeliverAll:
                await DeliverAllAsync();
                break;
            case StepKind.Advance:
                _time.Advance(TimeSpan.FromMilliseconds(step.Arg));
                break;
            case StepKind.Crash when _nodes[step.Arg % _nodes.Length].State is { IsUp: true } node:
                node.IsUp = false;
                _downSince[step.Arg % _nodes.Length] = _time.GetTimestamp();
                break;
            case StepKind.Restart:
                _nodes[step.Arg % _nodes.Length].State.IsUp = true;
                break;
            case StepKind.RestartEmpty when _downSince[step.Arg % _nodes.Length] is { } since
                && !_nodes[step.Arg % _nodes.Length].State.IsUp
                && _time.GetElapsedTime(since) > MaxExpiry * 1.25:
                _nodes[step.Arg % _nodes.Length].State.Wipe();
                _nodes[step.Arg % _nodes.Length].State.IsUp = true;
                break;
        }

        await SettleAsync();
    }

    private void Act(int client, Attempt attempt)
    {
        if (_holds[client] is { } held)
        {
            _holds[client] = null; // from the start of its release the client no longer relies on it
            _releases.Add(ReleaseAsync(held));
        }
        else if (_attempts[client] is null)
        {
            var request = new LockRequest { Expiry = TimeSpan.FromMilliseconds(_random.Next(300, (int)MaxExpiry.TotalMilliseconds)), WaitTimeout = TimeSpan.Zero };
            _attempts[client] = attempt(_clients[client], client, request, _random);
        }
    }

    /// <summary>Moves finished attempts to holds; an attempt that failed other than by a quorum failure is a violation.</summary>
    private string? Harvest()
    {
        for (var client = 0; client < _attempts.Length; client++)
        {
            if (_attempts[client] is not { IsCompleted: true } done)
            {
                continue;
            }

            _attempts[client] = null;
            if (done.IsCompletedSuccessfully)
            {
                _holds[client] = done.Result;
                _ = done.Result is null ? _refused++ : _held++;
            }
            else if (done.Exception?.InnerException is QuorumUnavailableException)
            {
                _noQuorum++;
            }
            else
            {
                return $"client {client}'s attempt failed with {done.Exception?.InnerException?.GetType().Name}: {done.Exception?.InnerException?.Message}";
            }
        }

        return null;
    }

    private string? Check(Func<IReadOnlyList<Hold>, string?> invariant)
    {
        var valid = _holds.Where(h => h is not null && h.Validity() > TimeSpan.Zero).Select(h => h!).ToList();
        _mostAtOnce = Math.Max(_mostAtOnce, valid.Count);
        return invariant(valid);
    }

    /// <summary>
    /// All nodes up, every call answered and every attempt finished; then every hold released. Returns the first grant
    /// a node made that no release was sent to that node for, or null.
    /// </summary>
    private async Task<string?> HealAndReleaseAsync()
    {
        foreach (var node in _nodes)
        {
            node.State.IsUp = true;
        }

        for (var round = 0; round < 400 && (_attempts.Any(a => a is not null) || _network.Count > 0); round++)
        {
            await DeliverAllAsync();
            if (Harvest() is { } failure)
            {
                return failure;
            }

            if (_attempts.Any(a => a is not null))
            {
                _time.Advance(TimeSpan.FromMilliseconds(50)); // an attempt waiting on a timer
                await SettleAsync();
            }
        }

        if (_attempts.Any(a => a is not null))
        {
            return "an attempt never finished on a healed network";
        }

        for (var client = 0; client < _holds.Length; client++)
        {
            if (_holds[client] is { } held)
            {
                _holds[client] = null;
                _releases.Add(ReleaseAsync(held));
            }
        }

        for (var round = 0; round < 400 && !_releases.TrueForAll(r => r.IsCompleted); round++)
        {
            await DeliverAllAsync();
        }

        await DeliverAllAsync(); // releases answering grants that arrived late
        foreach (var node in _nodes)
        {
            var released = node.Releases.ToHashSet();
            foreach (var grant in node.State.Grants)
            {
                if (!released.Contains(grant))
                {
                    return $"{node.Name} granted {grant.Key} to {grant.Id[..8]} and was never sent its release";
                }
            }
        }

        return null;
    }

    /// <summary>A release; one that too few nodes confirmed is fine here (what was sent is what is checked).</summary>
    private static async Task ReleaseAsync(Hold held)
    {
        try
        {
            await held.Release();
        }
        catch (QuorumUnavailableException)
        {
        }
    }

    private async Task DeliverAllAsync()
    {
        for (var i = 0; i < 1000; i++)
        {
            if (_network.Take(0) is { } call)
            {
                NetworkScheduler.Deliver(call);
                continue;
            }

            await SettleAsync();
            if (_network.Count == 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Lets the continuations of answered calls (on the thread pool) run. What has not run yet is seen at a later step:
    /// the clock only moves by steps, so no hold's validity runs out unseen.
    /// </summary>
    private static async Task SettleAsync()
    {
        for (var i = 0; i < 4; i++)
        {
            await Task.Yield();
        }
    }

    /// <summary>
    /// Disposes the clients with every node down: what they still send fails at once, calls left in flight are
    /// dropped, and the clock moves so that a round waiting for a timeout (a renewal under way) ends.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        // a run that stopped at a violation leaves attempts unfinished; they fail as the nodes go down, and nobody else
        // would observe that (an unobserved task exception fails HostileReplyTests' global check)
        foreach (var pending in _attempts.Where(a => a is not null).Concat(_releases))
        {
            _ = pending!.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        foreach (var node in _nodes)
        {
            node.State.IsUp = false;
        }

        var disposing = Task.WhenAll(_clients.Select(c => c.DisposeAsync().AsTask()));
        for (var round = 0; round < 200 && !disposing.IsCompleted; round++)
        {
            while (_network.Take(0) is { } call)
            {
                NetworkScheduler.Drop(call);
            }

            _time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(1);
        }

        await disposing.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
