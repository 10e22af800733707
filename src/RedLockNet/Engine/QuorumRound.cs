using RedLockNet.Nodes;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>
/// One script sent to every node of a <see cref="NodeSet"/> in parallel, under one timeout for the whole round (an
/// entry in the factory's <see cref="RoundTimeouts"/>, not a timer of its own). Each reply is counted as it arrives, in
/// a synchronous continuation on the node's task (no per-node wrapper, no per-node timer); the round completes as soon as <see cref="Count"/> says the outcome is certain, when every node has been
/// counted, or at the timeout, when the nodes still silent count as failed. Calls still running after that stay
/// reachable through <see cref="Calls"/> for whoever must clean up after them. Every multi-node operation is one
/// subclass: <see cref="VoteRound"/> (one yes/no question) or <see cref="ExtendRound"/> (a batch).
/// </summary>
internal abstract class QuorumRound
{
    private static readonly Action<Task<RedisResult>, object?> OnReplyAction = static (call, state) => ((QuorumRound)state!).OnReply(call);

    private readonly TaskCompletionSource _done = new();
    private readonly Task<RedisResult>?[] _calls;
    private readonly bool[] _counted;
    private List<NodeFailure>? _failures;
    private ScriptCall _call;
    private TimeSpan _timeout;
    private RoundTimeouts.Ticket? _timeoutTicket;
    private int _uncounted;
    private bool _finished;
    private bool _signaled;

    protected QuorumRound(NodeSet nodes)
    {
        Nodes = nodes;
        _calls = new Task<RedisResult>?[nodes.Count];
        _counted = new bool[nodes.Count];
    }

    public NodeSet Nodes { get; }

    /// <summary>The round's one lock: <see cref="Count"/> runs under it; subclasses take it to read their counts.</summary>
    protected Lock Gate { get; } = new();

    /// <summary>Whether the round has ended (decided, all counted, or timed out).</summary>
    public bool IsFinished
    {
        get
        {
            lock (Gate)
            {
                return _finished;
            }
        }
    }

    /// <summary>Monotonic timestamp taken before the first send.</summary>
    public long StartedAt { get; private set; }

    /// <summary>Completes when the round is decided, every node was counted, or the timeout passed. Never faults.</summary>
    public Task Completion => _done.Task;

    /// <summary>
    /// Whether the round keeps counting after <see cref="Count"/> said it is decided (<see cref="Completion"/> completes
    /// at the decision; <see cref="OnFinished"/> runs once the rest answered or timed out).
    /// </summary>
    protected virtual bool DrainsAfterDecision => false;

    /// <summary>Runs once, outside the round's lock, when the last node was counted or the timeout passed.</summary>
    protected virtual void OnFinished()
    {
    }

    /// <summary>The call sent to each node (null where none was sent); some may still be running.</summary>
    public IReadOnlyList<Task<RedisResult>?> Calls => _calls;

    /// <summary>The nodes that failed or timed out, in the order they were counted.</summary>
    public IReadOnlyList<NodeFailure> Failures
    {
        get
        {
            lock (Gate)
            {
                return _failures is null ? [] : [.. _failures];
            }
        }
    }

    /// <summary>
    /// Counts one node's answer (<paramref name="result"/>) or failure, under <see cref="Gate"/>, once per node that was
    /// asked. Returns true once the outcome is certain and the round may end before the rest answer.
    /// </summary>
    protected abstract bool Count(int node, RedisResult? result, NodeFailure? failure);

    /// <summary>
    /// Sends <paramref name="call"/> to every node whose entry in <paramref name="preset"/> is <see cref="Vote.Ask"/>
    /// (all nodes when it is empty). Call once, from the subclass's factory, after its own state is ready.
    /// </summary>
    protected void Send(in ScriptCall call, TimeSpan timeout, RoundTimeouts timeouts, ReadOnlySpan<Vote> preset = default)
    {
        var asked = 0;
        for (var i = 0; i < _counted.Length; i++)
        {
            if (preset.IsEmpty || preset[i] == Vote.Ask)
            {
                asked++;
            }
            else
            {
                _counted[i] = true;
            }
        }

        _timeout = timeout;
        _call = call;
        _uncounted = asked;
        StartedAt = timeouts.Time.GetTimestamp();
        if (asked == 0)
        {
            Finish();
            return;
        }

        for (var i = 0; i < _calls.Length; i++)
        {
            if (_counted[i])
            {
                continue;
            }

            Watch(i, NodeCalls.Start(Nodes[i], call));
        }

        // the deadline runs from after the sends: a slow send loop must not eat into the nodes' time
        if (!IsFinished)
        {
            var ticket = timeouts.Add(this, timeout);
            bool finishedMeanwhile;
            lock (Gate)
            {
                _timeoutTicket = ticket;
                finishedMeanwhile = _finished;
            }

            if (finishedMeanwhile)
            {
                ticket.Clear();
            }
        }
    }

    /// <summary>Stores the call to <paramref name="node"/> and counts its answer when it comes.</summary>
    private void Watch(int node, Task<RedisResult> task)
    {
        _calls[node] = task;
        if (task.IsCompleted)
        {
            OnReply(task);
        }
        else
        {
            _ = task.ContinueWith(OnReplyAction, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void OnReply(Task<RedisResult> call)
    {
        var node = Array.IndexOf(_calls, call);
        if (node < 0)
        {
            return; // cannot happen: the task is stored before its continuation is registered
        }

        RedisResult? result = null;
        NodeFailure? failure = null;
        if (call.IsCompletedSuccessfully)
        {
            result = call.Result;
        }
        else
        {
            var error = call.Exception?.InnerException;
            if (error is not null)
            {
                // a node that lost its data since we read its epoch, or its script cache (a new process, SCRIPT FLUSH),
                // is checked before it grants again
                Nodes[node].Failed(error);
            }

            if (LockScript.IsNoScript(error) && !_call.WithText && !IsFinished)
            {
                // send the text once and count that answer (a granting script now waits for the node's check first)
                Watch(node, NodeCalls.Start(Nodes[node], _call with { WithText = true }));
                return;
            }

            failure = NodeCalls.Classify(Nodes[node].Name, error);
        }

        bool finish, signal;
        lock (Gate)
        {
            if (_finished || _counted[node])
            {
                return; // a late answer: the round already ended (the task stays in Calls for cleanup)
            }

            _counted[node] = true;
            _uncounted--;
            if (failure is not null)
            {
                (_failures ??= []).Add(failure);
            }

            var decided = Count(node, result, failure);
            signal = decided && !_signaled;
            _signaled |= decided;
            finish = _uncounted == 0 || (decided && !DrainsAfterDecision);
            _finished |= finish;
        }

        if (finish)
        {
            Finish();
        }
        else if (signal)
        {
            _done.TrySetResult(); // decided: the caller goes on while the rest drain
        }
    }

    /// <summary>The round's deadline passed: the nodes still silent count as timed out.</summary>
    internal void Expire()
    {
        lock (Gate)
        {
            if (_finished)
            {
                return;
            }

            _finished = true;
            for (var i = 0; i < _counted.Length; i++)
            {
                if (_counted[i])
                {
                    continue;
                }

                _counted[i] = true;
                var failure = NodeCalls.TimedOut(Nodes[i].Name, _timeout);
                (_failures ??= []).Add(failure);
                Count(i, null, failure);
                if (_calls[i] is { } call)
                {
                    NodeCalls.Observe(call);
                }
            }

            _uncounted = 0;
        }

        Finish();
    }

    private void Finish()
    {
        RoundTimeouts.Ticket? ticket;
        lock (Gate)
        {
            _finished = true;
            ticket = _timeoutTicket;
        }

        ticket?.Clear();
        _done.TrySetResult();
        OnFinished();
    }
}

/// <summary>How long a <see cref="VoteRound"/> runs.</summary>
internal enum RoundEnd
{
    /// <summary>Until the outcome is certain (a majority said yes, or can no longer).</summary>
    WhenDecided,

    /// <summary>Until every node answered or the timeout passed: the caller needs every reply.</summary>
    WhenAllAnswered,

    /// <summary>The caller goes on at the decision; the round keeps counting the rest, then reports (see <see cref="VoteRound"/>).</summary>
    WhenDecidedThenDrain,
}

/// <summary>A round that asks every node one yes/no question and counts the answers in a <see cref="Quorum"/>.</summary>
internal sealed class VoteRound : QuorumRound
{
    /// <summary>Counts every answer as yes (a release or a read: any answer confirms the node took part).</summary>
    public static readonly Func<RedisResult, bool> AnyAnswer = static _ => true;

    /// <summary>Counts a granted acquisition or minted token as yes.</summary>
    public static readonly Func<RedisResult, bool> Granted = GrantReply.IsGranted;

    private readonly Func<RedisResult, bool> _isYes;
    private readonly RoundEnd _end;
    private Action<VoteRound, object?>? _drained;
    private object? _drainedState;
    private readonly RedisResult?[] _results;
    private readonly Vote[] _votes;
    private Quorum _quorum;

    private VoteRound(NodeSet nodes, Func<RedisResult, bool> isYes, RoundEnd end)
        : base(nodes)
    {
        _isYes = isYes;
        _end = end;
        _results = new RedisResult?[nodes.Count];
        _votes = new Vote[nodes.Count];
        _quorum = new Quorum(nodes.Count);
    }

    /// <summary>The count so far (final once <see cref="QuorumRound.Completion"/> has completed).</summary>
    public Quorum Quorum
    {
        get
        {
            lock (Gate)
            {
                return _quorum;
            }
        }
    }

    /// <summary>
    /// Starts a round. <paramref name="preset"/> (empty, or one entry per node) counts some nodes' votes without
    /// asking them, for a second round that only asks the rest.
    /// </summary>
    public static VoteRound Start(NodeSet nodes, in ScriptCall call, Func<RedisResult, bool> isYes, RoundEnd end, TimeSpan timeout, RoundTimeouts timeouts, ReadOnlySpan<Vote> preset = default) =>
        Start(nodes, call, isYes, end, timeout, timeouts, preset, null, null);

    /// <summary>
    /// Starts a round that calls <paramref name="drained"/> (with <paramref name="state"/>) once every node answered or
    /// the timeout passed, for <see cref="RoundEnd.WhenDecidedThenDrain"/>: the caller awaits the decision, the
    /// callback sees the final count and failures.
    /// </summary>
    public static VoteRound Start(NodeSet nodes, in ScriptCall call, Func<RedisResult, bool> isYes, RoundEnd end, TimeSpan timeout, RoundTimeouts timeouts, ReadOnlySpan<Vote> preset, Action<VoteRound, object?>? drained, object? state)
    {
        var round = new VoteRound(nodes, isYes, end) { _drained = drained, _drainedState = state };
        for (var i = 0; i < preset.Length; i++)
        {
            if (preset[i] != Vote.Ask)
            {
                round._votes[i] = preset[i];
                round._quorum.Add(preset[i]);
            }
        }

        round.Send(call, timeout, timeouts, preset);
        return round;
    }

    /// <summary>A node's answer, when it answered (and was counted).</summary>
    public RedisResult? ResultOf(int node) => _results[node];

    /// <summary>How a node voted (<see cref="Vote.Ask"/> while uncounted).</summary>
    public Vote VoteOf(int node)
    {
        lock (Gate)
        {
            return _votes[node];
        }
    }

    protected override bool Count(int node, RedisResult? result, NodeFailure? failure)
    {
        var vote = failure is not null || result is null ? Vote.Failed : _isYes(result) ? Vote.Yes : Vote.No;
        _results[node] = result;
        _votes[node] = vote;
        _quorum.Add(vote);
        return _end != RoundEnd.WhenAllAnswered && _quorum.IsDecided;
    }

    protected override bool DrainsAfterDecision => _end == RoundEnd.WhenDecidedThenDrain;

    protected override void OnFinished() => _drained?.Invoke(this, _drainedState);
}
