using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using RedLockNet.Engine.Leases;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>The renewer's queue against a model: a map from lease to due time, the earliest first.</summary>
public class LeaseQueueProperties
{
    private const int Leases = 12;

    /// <summary>An operation: 0 queue (or move) lease L at T, 1 remove L, 2 take the first.</summary>
    private static Arbitrary<(int Op, int Lease, int At)[]> Operations() =>
        Gen.ArrayOf(
            from op in Gen.Frequency((5, Gen.Constant(0)), (3, Gen.Constant(1)), (2, Gen.Constant(2)))
            from lease in Gen.Choose(0, Leases - 1)
            from at in Gen.Choose(0, 50)
            select (op, lease, at)).ToArbitrary();

    [Property(MaxTest = 1000)]
    public Property Behaves_like_a_map_ordered_by_due_time() =>
        Prop.ForAll(Operations(), operations =>
        {
            var options = new RedLockOptions { TimeProvider = new FakeTimeProvider() };
            var leases = Enumerable.Range(0, Leases).Select(i => NewLease(i, options)).ToArray();
            var queue = new LeaseQueue();
            var model = new Dictionary<Lease, long>();
            foreach (var (op, index, at) in operations)
            {
                var lease = leases[index];
                switch (op)
                {
                    case 0:
                        queue.Enqueue(lease, at);
                        model[lease] = at;
                        break;
                    case 1:
                        if (queue.Remove(lease) != model.Remove(lease))
                        {
                            return false.Label($"remove of lease {index} disagreed with the model");
                        }

                        break;
                    default:
                        if (model.Count == 0)
                        {
                            if (queue.TryPeek(out _, out _))
                            {
                                return false.Label("an empty queue peeked a lease");
                            }

                            break;
                        }

                        var first = queue.Dequeue();
                        if (!model.TryGetValue(first, out var due) || due != model.Values.Min())
                        {
                            return false.Label($"took a lease due at {first.RenewAt}, earliest in the model {model.Values.Min()}");
                        }

                        model.Remove(first);
                        break;
                }

                if (queue.Count != model.Count)
                {
                    return false.Label($"count {queue.Count}, model {model.Count}");
                }
            }

            return leases.All(l => (l.QueueSlot >= 0) == model.ContainsKey(l)).Label("a lease's slot disagrees with its membership");
        });

    private static Lease NewLease(int index, RedLockOptions options) =>
        new($"r{index}", $"k{index}", $"id{index}", TimeSpan.FromSeconds(30), 0, long.MaxValue, autoRenew: true, maxHoldTime: null,
            safetyMargin: TimeSpan.Zero, options, static (_, _) => { });
}
