using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using RedLockNet.Engine;
using RedLockNet.Tests.Unit.Sim;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>The quorum logic end to end through the public API, against simulated nodes on a fake clock.</summary>
public class SimulatedProtocolProperties
{
    private const string Resource = "res";
    private static readonly string Key = (string)LockKeys.For("redlock:", Resource)!;

    /// <summary>Per node: 0 free, 1 held by another owner, 2 down.</summary>
    private static Arbitrary<int[]> NodeStates() =>
        (from n in Gen.Elements(1, 2, 3, 4, 5, 7)
         from states in Gen.ArrayOf(Gen.Frequency((3, Gen.Constant(0)), (2, Gen.Constant(1)), (2, Gen.Constant(2))), n)
         select states).ToArbitrary();

    [Property(MaxTest = 1000)]
    public Property One_attempt_wins_iff_a_majority_is_free_and_leaves_nothing_behind_when_it_loses() =>
        Prop.ForAll(NodeStates(), async states =>
        {
            var (time, nodes, factory) = Build(states);
            var majority = (states.Length / 2) + 1;
            var free = states.Count(s => s == 0);
            var failed = states.Count(s => s == 2);

            ILockHandle? handle = null;
            Exception? error = null;
            try
            {
                handle = await factory.TryAcquireAsync(Resource, cancellationToken: TestContext.Current.CancellationToken);
            }
            catch (QuorumUnavailableException ex)
            {
                error = ex;
            }

            if (free >= majority)
            {
                // granted on every free node, held by us; foreign holders untouched
                return handle is not null
                    && nodes.Where((_, i) => states[i] == 0).All(n => n.Holder(Key) == handle.LockId)
                    && nodes.Where((_, i) => states[i] == 1).All(n => n.Holder(Key) == "other");
            }

            // the vote ends as soon as the outcome is certain, so which label a mixed loss gets depends on the
            // order the answers arrive in; what never depends on it:
            var nothingOfOursLeft = nodes.All(n => n.Holder(Key) is null or "other");
            var held = states.Count(s => s == 1);
            var labelFits = error is QuorumUnavailableException
                ? failed > states.Length - majority          // failures alone can rule out a majority
                : held > 0;                                  // contention needs another holder
            var forced = held == 0 ? error is QuorumUnavailableException
                : failed <= states.Length - majority ? error is null
                : true;
            return handle is null && nothingOfOursLeft && labelFits && forced;
        });

    [Property(MaxTest = 300)]
    public async Task<bool> Two_clients_never_both_hold_the_lock_on_the_shared_clock(PositiveInt seed)
    {
        var random = new Random(seed.Get);
        var states = new int[random.Next(1, 4) * 2 - 1];
        var (time, nodes, factory) = Build(states);
        var held = new ILockHandle?[2];
        for (var step = 0; step < 60; step++)
        {
            var client = random.Next(2);
            switch (random.Next(5))
            {
                case 0 or 1:
                    if (held[client] is null)
                    {
                        try
                        {
                            held[client] = await factory.TryAcquireAsync(Resource, new LockRequest { Expiry = TimeSpan.FromMilliseconds(random.Next(20, 500)) });
                        }
                        catch (QuorumUnavailableException)
                        {
                        }
                    }

                    break;
                case 2:
                    try
                    {
                        if (held[client] is { } mine)
                        {
                            await mine.ReleaseAsync();
                        }
                    }
                    catch (QuorumUnavailableException)
                    {
                    }

                    held[client] = null;
                    break;
                case 3:
                    time.Advance(TimeSpan.FromMilliseconds(random.Next(1, 300)));
                    break;
                default:
                    var node = nodes[random.Next(nodes.Length)];
                    node.IsUp = !node.IsUp;
                    break;
            }

            var believers = held.Count(h => h is not null && h.RemainingValidity > TimeSpan.Zero);
            if (believers > 1)
            {
                Assert.Fail($"two holders at step {step}, seed {seed.Get}");
            }
        }

        return true;
    }

    private static (FakeTimeProvider Time, SimulatedNode[] Nodes, RedLockFactory Factory) Build(int[] states)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var nodes = states.Select((state, i) =>
        {
            var node = new SimulatedNode($"sim{i}:6379", time) { IsUp = state != 2 };
            if (state == 1)
            {
                node.Hold(Key, "other", TimeSpan.FromMinutes(1));
            }

            return node;
        }).ToArray();
        var factory = RedLockFactory.CreateForNodes(nodes, new RedLockOptions { TimeProvider = time });
        return (time, nodes, factory);
    }
}
