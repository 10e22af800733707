using Microsoft.Extensions.Time.Testing;
using RedLockNet.Nodes;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>The restart-quarantine rule on a fake clock.</summary>
public sealed class RestartQuarantineTests
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(30);

    [Fact]
    public void The_process_seen_at_connect_votes_and_so_does_it_after_a_network_blip()
    {
        var quarantine = new RestartQuarantine(new FakeTimeProvider());
        quarantine.Baseline("run-1");
        Assert.False(quarantine.IsSuspect);

        quarantine.Suspect();
        Assert.True(quarantine.IsSuspect);
        Assert.Equal(TimeSpan.Zero, quarantine.Checked("run-1", TimeSpan.FromSeconds(2), persistent: false, RestartQuarantineMode.Always, Period));
        Assert.False(quarantine.IsSuspect);
        Assert.Equal(TimeSpan.Zero, quarantine.Remaining);
    }

    [Fact]
    public void A_new_young_process_without_persistence_is_out_until_the_period_after_its_start()
    {
        var time = new FakeTimeProvider();
        var quarantine = new RestartQuarantine(time);
        quarantine.Baseline("run-1");
        quarantine.Suspect();

        var left = quarantine.Checked("run-2", TimeSpan.FromSeconds(4), persistent: false, RestartQuarantineMode.WhenNotPersistent, Period);
        Assert.Equal(TimeSpan.FromSeconds(26), left);
        Assert.Equal("run-2", quarantine.RunId);

        time.Advance(TimeSpan.FromSeconds(25.9));
        Assert.True(quarantine.Remaining > TimeSpan.Zero);
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(TimeSpan.Zero, quarantine.Remaining);
    }

    [Fact]
    public void A_restarted_node_that_has_been_up_longer_than_the_period_votes_at_once()
    {
        var quarantine = new RestartQuarantine(new FakeTimeProvider());
        quarantine.Baseline("run-1");
        quarantine.Suspect();
        Assert.Equal(TimeSpan.Zero, quarantine.Checked("run-2", TimeSpan.FromSeconds(31), persistent: false, RestartQuarantineMode.Always, Period));
    }

    [Theory]
    [InlineData(RestartQuarantineMode.WhenNotPersistent, true, false)]
    [InlineData(RestartQuarantineMode.WhenNotPersistent, false, true)]
    [InlineData(RestartQuarantineMode.Always, true, true)]
    [InlineData(RestartQuarantineMode.Always, false, true)]
    [InlineData(RestartQuarantineMode.Off, false, false)]
    public void The_mode_and_persistence_decide_whether_a_young_restarted_node_is_kept_out(RestartQuarantineMode mode, bool persistent, bool kept)
    {
        var quarantine = new RestartQuarantine(new FakeTimeProvider());
        quarantine.Baseline("run-1");
        quarantine.Suspect();
        var left = quarantine.Checked("run-2", TimeSpan.Zero, persistent, mode, Period);
        Assert.Equal(kept, left > TimeSpan.Zero);
    }

    [Fact]
    public void A_node_first_reached_after_connect_is_kept_out_only_when_it_started_after_we_began_watching()
    {
        var time = new FakeTimeProvider();
        var restarted = new RestartQuarantine(time);
        var slow = new RestartQuarantine(time);
        restarted.Suspect(); // unreachable when the factory connected: no baseline
        slow.Suspect();
        Assert.True(restarted.IsSuspect);
        time.Advance(TimeSpan.FromSeconds(5));

        // up 1 s, so it started 4 s after we began watching: a restart we witnessed
        Assert.Equal(TimeSpan.FromSeconds(29), restarted.Checked("run-1", TimeSpan.FromSeconds(1), persistent: false, RestartQuarantineMode.WhenNotPersistent, Period));
        // up 8 s: it was running all along and only slow to answer
        Assert.Equal(TimeSpan.Zero, slow.Checked("run-1", TimeSpan.FromSeconds(8), persistent: false, RestartQuarantineMode.WhenNotPersistent, Period));
    }

    [Fact]
    public void A_fresh_node_that_answers_late_within_its_first_second_is_not_taken_for_a_restart()
    {
        // uptime is whole seconds rounded down: "up 0 s" 0.9 s after we began watching may be a node that started
        // just before; seen on a loaded machine as a fresh test node kept out of the vote
        var time = new FakeTimeProvider();
        var fresh = new RestartQuarantine(time);
        fresh.Suspect();
        time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Equal(TimeSpan.Zero, fresh.Checked("run-1", TimeSpan.Zero, persistent: false, RestartQuarantineMode.WhenNotPersistent, Period));
    }

    [Fact]
    public void A_second_restart_during_quarantine_extends_it_and_a_blip_never_shortens_it()
    {
        var time = new FakeTimeProvider();
        var quarantine = new RestartQuarantine(time);
        quarantine.Baseline("run-1");
        quarantine.Suspect();
        quarantine.Checked("run-2", TimeSpan.Zero, false, RestartQuarantineMode.Always, Period);
        time.Advance(TimeSpan.FromSeconds(20));

        quarantine.Suspect();
        Assert.Equal(TimeSpan.FromSeconds(30), quarantine.Checked("run-3", TimeSpan.Zero, false, RestartQuarantineMode.Always, Period));

        quarantine.Suspect();
        Assert.Equal(TimeSpan.FromSeconds(30), quarantine.Checked("run-3", TimeSpan.FromSeconds(100), false, RestartQuarantineMode.Always, Period));
    }

    [Fact]
    public void A_new_epoch_keeps_the_node_out_a_period_after_the_epoch_began_even_with_persistence_or_the_same_process()
    {
        var time = new FakeTimeProvider();
        var quarantine = new RestartQuarantine(time);
        quarantine.Baseline("run-1", "epoch-1");
        quarantine.Suspect();

        // same process, persistence on: only the epoch says the data is gone (FLUSHALL, eviction, failover)
        var left = quarantine.Checked("run-1", TimeSpan.FromHours(1), persistent: true, RestartQuarantineMode.WhenNotPersistent, Period, "epoch-2", TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(27), left);
        Assert.Equal("epoch-2", quarantine.Epoch);

        time.Advance(TimeSpan.FromSeconds(27));
        Assert.Equal(TimeSpan.Zero, quarantine.Remaining);

        // the same epoch again later: nothing was lost since
        quarantine.Suspect();
        Assert.Equal(TimeSpan.Zero, quarantine.Checked("run-1", TimeSpan.FromHours(1), persistent: true, RestartQuarantineMode.WhenNotPersistent, Period, "epoch-2", TimeSpan.FromSeconds(40)));
    }

    [Fact]
    public void A_new_process_that_kept_its_epoch_with_persistence_votes_at_once_and_off_never_quarantines()
    {
        var quarantine = new RestartQuarantine(new FakeTimeProvider());
        quarantine.Baseline("run-1", "epoch-1");
        quarantine.Suspect();
        Assert.Equal(TimeSpan.Zero, quarantine.Checked("run-2", TimeSpan.FromSeconds(2), persistent: true, RestartQuarantineMode.WhenNotPersistent, Period, "epoch-1", TimeSpan.FromHours(2)));

        var off = new RestartQuarantine(new FakeTimeProvider());
        off.Baseline("run-1", "epoch-1");
        off.Suspect();
        Assert.Equal(TimeSpan.Zero, off.Checked("run-2", TimeSpan.FromSeconds(2), persistent: false, RestartQuarantineMode.Off, Period, "epoch-2", TimeSpan.Zero));
    }

    [Fact]
    public void A_node_that_lost_its_data_stays_out_of_records_until_their_retention_has_passed_since_the_loss()
    {
        var time = new FakeTimeProvider();
        var quarantine = new RestartQuarantine(time);
        quarantine.Baseline("run-1", "epoch-1");
        var marker = TimeSpan.FromMinutes(2);
        Assert.Equal(TimeSpan.Zero, quarantine.RemainingFor(marker)); // nothing lost: every record is answered for

        // the new epoch began 3 s ago: locks are out for the period after that, records for their retention after it
        quarantine.Suspect();
        quarantine.Checked("run-2", TimeSpan.FromSeconds(3), persistent: false, RestartQuarantineMode.WhenNotPersistent, Period, "epoch-2", TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(27), quarantine.Remaining);
        Assert.Equal(TimeSpan.FromSeconds(117), quarantine.RemainingFor(marker));
        Assert.Equal(TimeSpan.FromSeconds(27), quarantine.RemainingFor(TimeSpan.FromSeconds(5))); // never less than the locks'

        time.Advance(TimeSpan.FromSeconds(27));
        Assert.True(quarantine.MayServe(TimeSpan.Zero, out _));
        Assert.False(quarantine.MayServe(marker, out _));
        Assert.True(quarantine.MayServe(TimeSpan.FromSeconds(30), out _)); // written at most 30 s before the loss: gone anyway

        time.Advance(TimeSpan.FromSeconds(90));
        Assert.True(quarantine.MayServe(marker, out var epoch));
        Assert.Equal("epoch-2", epoch);
    }

    [Fact]
    public void A_restart_with_persistence_or_with_quarantine_off_keeps_records_answered()
    {
        var persistent = new RestartQuarantine(new FakeTimeProvider());
        persistent.Baseline("run-1", "epoch-1");
        persistent.Suspect();
        persistent.Checked("run-2", TimeSpan.FromSeconds(2), persistent: true, RestartQuarantineMode.WhenNotPersistent, Period, "epoch-1", TimeSpan.FromHours(2));
        Assert.Equal(TimeSpan.Zero, persistent.RemainingFor(TimeSpan.FromDays(1)));

        var off = new RestartQuarantine(new FakeTimeProvider());
        off.Baseline("run-1", "epoch-1");
        off.Suspect();
        off.Checked("run-2", TimeSpan.FromSeconds(2), persistent: false, RestartQuarantineMode.Off, Period, "epoch-2", TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, off.RemainingFor(TimeSpan.FromDays(1)));

        // a new process without persistence that kept its epoch (an older snapshot) lost what came after it: out too
        var snapshot = new RestartQuarantine(new FakeTimeProvider());
        snapshot.Baseline("run-1", "epoch-1");
        snapshot.Suspect();
        snapshot.Checked("run-2", TimeSpan.FromSeconds(2), persistent: false, RestartQuarantineMode.WhenNotPersistent, Period, "epoch-1", TimeSpan.FromHours(2));
        Assert.Equal(TimeSpan.FromSeconds(58), snapshot.RemainingFor(TimeSpan.FromMinutes(1)));
    }

    /// <summary>
    /// A granting script carries the epoch it must find on the node. Read apart from the node's standing, that epoch can
    /// be a new one a check has just read (the node lost its data), paired with the "may grant" read before the check:
    /// the script then passes the node's epoch check in the middle of the quarantine the check began. The soak of issue
    /// 14 found one unexplained overlap that this could cause. One thread loses and checks the node again and again; the
    /// other asks whether it may grant, as <see cref="RedisLockNode"/> does before each granting script. Any "yes" must
    /// carry an epoch whose quarantine is over.
    /// </summary>
    [Fact]
    public void The_epoch_a_grant_carries_is_read_with_the_standing_so_a_new_epoch_never_passes_during_its_quarantine()
    {
        var violations = GrantsDuringQuarantine(static (RestartQuarantine q, out string? epoch) => q.MayServe(TimeSpan.Zero, out epoch), iterations: 20_000);
        Assert.Equal(0, violations);
    }

    /// <summary>
    /// Control for the test above: the same race against the standing and the epoch read one after the other (the code
    /// before the fix; a spin between the reads stands in for the thread being preempted there) finds grants during quarantine.
    /// </summary>
    [Fact]
    public void Control_the_standing_and_the_epoch_read_apart_let_a_new_epoch_pass_during_its_quarantine()
    {
        var violations = GrantsDuringQuarantine(static (RestartQuarantine q, out string? epoch) =>
        {
            var clear = !(q.IsSuspect || q.Remaining > TimeSpan.Zero);
            Thread.SpinWait(200);
            epoch = q.Epoch;
            return clear;
        }, iterations: 20_000);
        Assert.True(violations > 0, "the race between the standing and the epoch was never seen");
    }

    private delegate bool Admission(RestartQuarantine quarantine, out string? epoch);

    /// <summary>
    /// Runs <paramref name="iterations"/> losses (suspect, then a check that reads epoch i, quarantined for the period,
    /// then the period passes) against a thread that keeps asking <paramref name="admit"/>; counts the "yes" answers
    /// that carried an epoch whose quarantine had not been announced over. Bounded: at most 10 s.
    /// </summary>
    private static int GrantsDuringQuarantine(Admission admit, int iterations)
    {
        var time = new FakeTimeProvider();
        var quarantine = new RestartQuarantine(time);
        quarantine.Baseline("run-1", "0");
        var served = 0; // the newest epoch whose quarantine has ended (announced just before the clock passes it)
        var done = 0;
        var violations = 0;
        var reader = new Thread(() =>
        {
            while (Volatile.Read(ref done) == 0)
            {
                if (admit(quarantine, out var epoch) && int.Parse(epoch!, System.Globalization.CultureInfo.InvariantCulture) > Volatile.Read(ref served))
                {
                    violations++;
                }
            }
        });
        reader.Start();
        var bound = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 1; i <= iterations && bound.Elapsed < TimeSpan.FromSeconds(10); i++)
        {
            quarantine.Suspect();
            quarantine.Checked("run-1", TimeSpan.FromHours(1), persistent: false, RestartQuarantineMode.WhenNotPersistent, Period, i.ToString(System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Zero);
            Thread.SpinWait(100);
            Volatile.Write(ref served, i);
            time.Advance(Period);
        }

        Volatile.Write(ref done, 1);
        Assert.True(reader.Join(TimeSpan.FromSeconds(10)), "the reader did not stop");
        return violations;
    }
}
