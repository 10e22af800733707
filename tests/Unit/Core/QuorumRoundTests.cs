using Microsoft.Extensions.Time.Testing;
using RedLockNet.Engine;
using RedLockNet.Nodes;
using RedLockNet.Nodes.Scripts;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>
/// The quorum-round engine on nodes whose answers the test releases one by one: early decisions, one timeout for
/// the whole round, preset votes, late answers, and failures as votes against.
/// </summary>
public sealed class QuorumRoundTests
{
    private static readonly ScriptCall Call = new ReleaseCall("redlock:{r}", "id", new WaitingRoom("redlock:{r}:waiting", "redlock:{r}:seen", 1000, 1000, "redlock:wake:")).ToCall();
    private static readonly Func<RedisResult, bool> IsOne = IntegerReply.IsOne;

    [Fact]
    public void A_majority_of_yes_decides_before_the_last_node_answers()
    {
        var (nodes, set) = Nodes(3);
        var round = VoteRound.Start(set, Call, IsOne, RoundEnd.WhenDecided, TimeSpan.FromSeconds(1), new RoundTimeouts(new FakeTimeProvider()));
        nodes[0].Answer(1);
        Assert.False(round.Completion.IsCompleted);
        nodes[2].Answer(1);
        Assert.True(round.Completion.IsCompletedSuccessfully);
        Assert.True(round.Quorum.IsWon);
        Assert.Equal(Vote.Ask, round.VoteOf(1));
        Assert.False(round.Calls[1]!.IsCompleted); // still running: handed to whoever cleans up

        nodes[1].Answer(0); // a late answer changes nothing
        Assert.Equal(2, round.Quorum.Granted);
        Assert.Equal(0, round.Quorum.Denied);
    }

    [Fact]
    public void A_finished_round_is_not_kept_alive_by_its_timeout_entry()
    {
        // thousands of rounds finish early every second under load; held until their deadline they would be promoted
        // out of the youngest GC generation with all they reference
        var timeouts = new RoundTimeouts(new FakeTimeProvider());
        var finished = FinishRound(timeouts);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.Equal(1, timeouts.Pending); // its deadline has not passed: the entry is still queued
        Assert.False(finished.TryGetTarget(out _), "the queue still references the finished round");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference<VoteRound> FinishRound(RoundTimeouts timeouts)
    {
        var (nodes, set) = Nodes(3);
        var round = VoteRound.Start(set, Call, IsOne, RoundEnd.WhenAllAnswered, TimeSpan.FromSeconds(10), timeouts);
        foreach (var node in nodes)
        {
            node.Answer(1);
        }

        Assert.True(round.IsFinished);
        return new WeakReference<VoteRound>(round);
    }

    [Fact]
    public void Refusals_and_failures_decide_as_soon_as_a_majority_is_out_of_reach()
    {
        var (nodes, set) = Nodes(5);
        var round = VoteRound.Start(set, Call, IsOne, RoundEnd.WhenDecided, TimeSpan.FromSeconds(1), new RoundTimeouts(new FakeTimeProvider()));
        nodes[0].Answer(0);
        nodes[1].Fail();
        Assert.False(round.Completion.IsCompleted);
        nodes[2].Answer(0);
        Assert.True(round.Completion.IsCompleted);
        Assert.True(round.Quorum.IsLost);
        Assert.Equal(AcquireOutcome.Contended, round.Quorum.Outcome);
        Assert.Single(round.Failures);
        Assert.Equal(NodeFailureKind.Unreachable, round.Failures[0].Kind);
    }

    [Fact]
    public void Nodes_silent_at_the_round_timeout_count_as_timed_out()
    {
        var time = new FakeTimeProvider();
        var (nodes, set) = Nodes(3);
        var round = VoteRound.Start(set, Call, IsOne, RoundEnd.WhenDecided, TimeSpan.FromMilliseconds(200), new RoundTimeouts(time));
        nodes[0].Answer(1);
        time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.False(round.Completion.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(round.Completion.IsCompleted);
        Assert.Equal(AcquireOutcome.QuorumUnavailable, round.Quorum.Outcome);
        Assert.Equal(2, round.Failures.Count);
        Assert.All(round.Failures, f => Assert.Equal(NodeFailureKind.Timeout, f.Kind));

        nodes[1].Answer(1); // after the timeout: not counted
        Assert.Equal(1, round.Quorum.Granted);
    }

    [Fact]
    public void Disposing_the_timeouts_ends_the_rounds_still_waiting_instead_of_leaving_them_forever()
    {
        // a release under way when its factory is disposed: the factory's timer is gone, so nothing else would end it
        var (nodes, set) = Nodes(3);
        var timeouts = new RoundTimeouts(new FakeTimeProvider());
        var round = VoteRound.Start(set, Call, IsOne, RoundEnd.WhenDecided, TimeSpan.FromSeconds(1), timeouts);
        nodes[0].Answer(1);
        Assert.False(round.Completion.IsCompleted);
        timeouts.Dispose();
        Assert.True(round.Completion.IsCompletedSuccessfully);
        Assert.False(round.Quorum.IsWon);
        Assert.Equal(2, round.Failures.Count);
    }

    [Fact]
    public void When_all_answers_are_needed_the_round_waits_past_a_decided_majority()
    {
        var (nodes, set) = Nodes(3);
        var round = VoteRound.Start(set, Call, IsOne, RoundEnd.WhenAllAnswered, TimeSpan.FromSeconds(1), new RoundTimeouts(new FakeTimeProvider()));
        nodes[0].Answer(1);
        nodes[1].Answer(1);
        Assert.False(round.Completion.IsCompleted);
        nodes[2].Answer(0);
        Assert.True(round.Completion.IsCompleted);
        Assert.Equal(2, round.Quorum.Granted);
        Assert.Equal(1, round.Quorum.Denied);
    }

    [Fact]
    public void Preset_votes_count_without_asking_those_nodes()
    {
        var (nodes, set) = Nodes(3);
        Vote[] preset = [Vote.Yes, Vote.Ask, Vote.No];
        var round = VoteRound.Start(set, Call, IsOne, RoundEnd.WhenDecided, TimeSpan.FromSeconds(1), new RoundTimeouts(new FakeTimeProvider()), preset);
        Assert.Equal(0, nodes[0].Calls);
        Assert.Equal(1, nodes[1].Calls);
        Assert.Equal(0, nodes[2].Calls);
        Assert.Null(round.Calls[0]);
        nodes[1].Answer(1);
        Assert.True(round.Completion.IsCompleted);
        Assert.True(round.Quorum.IsWon);
    }

    [Fact]
    public void A_round_with_nobody_to_ask_completes_at_once()
    {
        var (_, set) = Nodes(3);
        var round = VoteRound.Start(set, Call, IsOne, RoundEnd.WhenAllAnswered, TimeSpan.FromSeconds(1), new RoundTimeouts(new FakeTimeProvider()), [Vote.Yes, Vote.Yes, Vote.No]);
        Assert.True(round.Completion.IsCompleted);
        Assert.True(round.Quorum.IsWon);
    }

    [Fact]
    public async Task A_batch_extension_decides_each_item_on_its_own()
    {
        var (nodes, set) = Nodes(3);
        ExtendItem[] items = [new("redlock:{a}", "a", TimeSpan.FromSeconds(1)), new("redlock:{b}", "b", TimeSpan.FromSeconds(1))];
        var running = ExtendRound.RunAsync(set, items, TimeSpan.FromSeconds(1), new RoundTimeouts(new FakeTimeProvider()));
        nodes[0].AnswerArray(1, 0);
        nodes[1].AnswerArray(1, 0);
        Assert.True(running.IsCompleted); // a: two yes of three; b: two no of three, refused for good (a majority can never hold it)
        var round = await running;
        Assert.Equal(1, nodes[2].Calls); // the third node was asked; its answer is no longer needed
        Assert.Equal(ExtendOutcome.Extended, round.VerdictOf(0).Outcome);
        Assert.Equal(ExtendOutcome.Refused, round.VerdictOf(1).Outcome);
    }

    private static (HeldNode[] Nodes, NodeSet Set) Nodes(int count)
    {
        var nodes = Enumerable.Range(0, count).Select(i => new HeldNode($"n{i}:6379")).ToArray();
        return (nodes, new NodeSet(nodes));
    }

    /// <summary>A node whose answer to each call waits until the test gives it.</summary>
    private sealed class HeldNode(string name) : ILockNode
    {
        private TaskCompletionSource<RedisResult>? _pending;

        public string Name { get; } = name;

        public int Calls { get; private set; }

        public Task<RedisResult> RunAsync(ScriptCall call)
        {
            Calls++;
            _pending = new TaskCompletionSource<RedisResult>();
            return _pending.Task;
        }

        public void Answer(long value) => _pending!.SetResult(RedisResult.Create(value));

        public void AnswerArray(params long[] values) => _pending!.SetResult(RedisResult.Create([.. values.Select(v => RedisResult.Create(v))]));

        public void Fail() => _pending!.SetException(new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, $"{Name} dropped", null, CommandStatus.Sent));
    }
}
