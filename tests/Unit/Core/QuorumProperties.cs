using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RedLockNet.Engine;

namespace RedLockNet.Tests.Unit.Core;

public class QuorumProperties
{
    /// <summary>Votes: 0 grant, 1 deny, 2 fail. Node counts 1..9.</summary>
    private static Arbitrary<(int Nodes, int[] Votes)> VoteSequences() =>
        (from n in Gen.Choose(1, 9)
         from votes in Gen.ArrayOf(Gen.Choose(0, 2), n)
         select (n, votes)).ToArbitrary();

    [Property(MaxTest = 2000)]
    public Property Decides_exactly_when_a_majority_is_won_or_impossible() =>
        Prop.ForAll(VoteSequences(), input =>
        {
            var (n, votes) = input;
            var quorum = new Quorum(n);
            int granted = 0, pending = n;
            foreach (var vote in votes)
            {
                Cast(ref quorum, vote);
                pending--;
                granted += vote == 0 ? 1 : 0;
                var majority = (n / 2) + 1;
                var shouldBeDecided = granted >= majority || granted + pending < majority;
                if (quorum.IsDecided != shouldBeDecided)
                {
                    return false;
                }

                if (quorum.IsDecided)
                {
                    break;
                }
            }

            return quorum.IsDecided; // after every node voted, the vote is always decided
        });

    [Property(MaxTest = 2000)]
    public Property Outcome_separates_contention_from_unavailability() =>
        Prop.ForAll(VoteSequences(), input =>
        {
            var (n, votes) = input;
            var quorum = new Quorum(n);
            foreach (var vote in votes)
            {
                Cast(ref quorum, vote);
                if (quorum.IsDecided)
                {
                    break;
                }
            }

            var majority = (n / 2) + 1;
            return quorum.Outcome switch
            {
                AcquireOutcome.Acquired => quorum.Granted >= majority,
                // unavailable only when failures alone rule out a majority of answers
                AcquireOutcome.QuorumUnavailable => quorum.Granted < majority && quorum.Failed > n - majority,
                // contended: failures alone would not have stopped us, so someone else denied
                AcquireOutcome.Contended => quorum.Granted < majority && quorum.Denied > 0 && quorum.Failed <= n - majority,
                _ => false,
            };
        });

    [Fact]
    public void Majority_is_more_than_half()
    {
        Assert.Equal(1, new Quorum(1).Majority);
        Assert.Equal(2, new Quorum(2).Majority);
        Assert.Equal(2, new Quorum(3).Majority);
        Assert.Equal(3, new Quorum(4).Majority);
        Assert.Equal(3, new Quorum(5).Majority);
    }

    [Fact]
    public void Voting_past_the_last_node_is_a_bug()
    {
        var quorum = new Quorum(1);
        quorum.Grant();
        Assert.Throws<InvalidOperationException>(() => quorum.Deny());
    }

    private static void Cast(ref Quorum quorum, int vote)
    {
        switch (vote)
        {
            case 0: quorum.Grant(); break;
            case 1: quorum.Deny(); break;
            default: quorum.Fail(); break;
        }
    }
}
