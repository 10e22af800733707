using Microsoft.Extensions.DependencyInjection;
using RedLockNet.Hosting.Cron;
using RedLockNet.Hosting.DependencyInjection;
using RedLockNet.Hosting.Election;
using RedLockNet.Tests.Unit.Sim;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>Bad election, schedule and job settings are refused when the objects are built, naming the setting, and nothing reaches the nodes.</summary>
public sealed class HostingValidationTests
{
    private static readonly Func<CronJobContext, CancellationToken, Task> Nothing = (_, _) => Task.CompletedTask;

    /// <summary>Each way to break an election, by name.</summary>
    private static readonly Dictionary<string, Action<LeaderElectionOptions>> Breaks = new()
    {
        ["null group"] = o => o.Group = null!,
        ["empty group"] = o => o.Group = "",
        ["white-space group"] = o => o.Group = "   ",
        ["group of 1025 characters"] = o => o.Group = new string('g', 1025),
        ["empty identity"] = o => o.Identity = "",
        ["white-space identity"] = o => o.Identity = " \t",
        ["identity of 257 characters"] = o => o.Identity = new string('i', 257),
        ["retry period under 10 ms"] = o => o.RetryPeriod = TimeSpan.FromMilliseconds(9),
        ["zero retry period"] = o => o.RetryPeriod = TimeSpan.Zero,
        ["renew deadline of exactly 1.2 x the retry period"] = o => (o.RetryPeriod, o.RenewDeadline) = (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2.4)),
        ["renew deadline under the retry period"] = o => (o.RetryPeriod, o.RenewDeadline) = (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)),
        ["lease equal to the renew deadline"] = o => (o.LeaseDuration, o.RenewDeadline) = (TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)),
        ["lease under the renew deadline"] = o => (o.LeaseDuration, o.RenewDeadline) = (TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(10)),
        // the renew deadline must stay under the lease less its drift allowance (15 s x 1 % + 2 ms = 152 ms)
        ["renew deadline within the drift allowance"] = o => (o.LeaseDuration, o.RenewDeadline) = (TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(14_900)),
        ["renew deadline at the lease less drift"] = o => (o.LeaseDuration, o.RenewDeadline) = (TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(14_848)),
    };

    public static TheoryData<string, string> BadElections => new()
    {
        { "null group", "options.Group" },
        { "empty group", "options.Group" },
        { "white-space group", "options.Group" },
        { "group of 1025 characters", "options.Group" },
        { "empty identity", "options.Identity" },
        { "white-space identity", "options.Identity" },
        { "identity of 257 characters", "options.Identity" },
        { "retry period under 10 ms", "options.RetryPeriod" },
        { "zero retry period", "options.RetryPeriod" },
        { "renew deadline of exactly 1.2 x the retry period", "options.RenewDeadline" },
        { "renew deadline under the retry period", "options.RenewDeadline" },
        { "lease equal to the renew deadline", "options.LeaseDuration" },
        { "lease under the renew deadline", "options.LeaseDuration" },
        { "renew deadline within the drift allowance", "options.RenewDeadline" },
        { "renew deadline at the lease less drift", "options.RenewDeadline" },
    };

    [Theory]
    [MemberData(nameof(BadElections))]
    public async Task A_bad_election_setting_is_refused_with_its_name(string broken, string param)
    {
        await using var sim = new SimulatedCluster(3);
        var election = CronSim.Election("a");
        Breaks[broken](election);

        var ex = Assert.ThrowsAny<ArgumentException>(() => new LeaderElector(sim.Factory, election));
        Assert.Equal(param, ex.ParamName);
        // the same rule through a cron runner's election
        var viaRunner = Assert.ThrowsAny<ArgumentException>(() =>
            new CronRunner(sim.Factory, [CronJob.Create("job", "* * * * *", Nothing)], new CronRunnerOptions { Election = election }));
        Assert.Equal(param, viaRunner.ParamName);
        Assert.All(sim.Nodes, n => Assert.Equal(0, n.Calls));
    }

    [Fact]
    public async Task The_tightest_valid_timing_is_accepted()
    {
        await using var sim = new SimulatedCluster(3);
        var election = CronSim.Election("a");
        (election.LeaseDuration, election.RenewDeadline, election.RetryPeriod) =
            (TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(14_847), TimeSpan.FromMilliseconds(10));
        Assert.Equal("a", new LeaderElector(sim.Factory, election).Identity);

        (election.LeaseDuration, election.RenewDeadline, election.RetryPeriod) =
            (TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(2_401), TimeSpan.FromSeconds(2));
        Assert.NotNull(new LeaderElector(sim.Factory, election));
        election.Identity = null;
        Assert.False(string.IsNullOrWhiteSpace(new LeaderElector(sim.Factory, election).Identity)); // a default identity
        Assert.All(sim.Nodes, n => Assert.Equal(0, n.Calls));
    }

    [Fact]
    public async Task The_lease_duration_must_also_be_a_valid_lock_expiry()
    {
        await using var sim = new SimulatedCluster(3, o => o.MinValidity = TimeSpan.FromSeconds(20));
        var election = CronSim.Election("a"); // 15 s cannot leave 20 s of minimum validity
        var ex = Assert.ThrowsAny<ArgumentException>(() => new LeaderElector(sim.Factory, election));
        Assert.Equal("options.LeaseDuration", ex.ParamName);
    }

    [Theory]
    [InlineData("not cron")]
    [InlineData("* * * *")]
    [InlineData("61 * * * *")]
    [InlineData("* * * * * * *")]
    [InlineData("")]
    public void A_bad_cron_expression_is_refused_naming_it(string expression)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => CronJob.Create("job", expression, Nothing));
        Assert.Equal("cronExpression", ex.ParamName);
        Assert.Contains(expression, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void A_bad_job_name_is_refused(string name)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => CronJob.Create(name, "* * * * *", Nothing));
        Assert.Equal("name", ex.ParamName);
    }

    [Fact]
    public void A_negative_job_grace_or_an_undefined_overlap_is_refused()
    {
        var grace = Assert.ThrowsAny<ArgumentException>(() =>
            CronJob.Create("job", "* * * * *", Nothing, options: new CronJobOptions { MisfireGrace = TimeSpan.FromSeconds(-1) }));
        Assert.Equal("options.MisfireGrace", grace.ParamName);

        var overlap = Assert.ThrowsAny<ArgumentException>(() =>
            CronJob.Create("job", "* * * * *", Nothing, options: new CronJobOptions { Overlap = (CronOverlap)7 }));
        Assert.Equal("options.Overlap", overlap.ParamName);

        Assert.Equal(TimeSpan.Zero, CronJob.Create("job", "* * * * *", Nothing, options: new CronJobOptions { MisfireGrace = TimeSpan.Zero }).Options.MisfireGrace);
    }

    [Fact]
    public async Task A_runner_refuses_a_negative_grace_no_jobs_and_two_jobs_with_one_name()
    {
        await using var sim = new SimulatedCluster(3);
        var job = CronJob.Create("report", "* * * * *", Nothing);

        var grace = Assert.ThrowsAny<ArgumentException>(() => new CronRunner(sim.Factory, [job], new CronRunnerOptions { MisfireGrace = TimeSpan.FromTicks(-1) }));
        Assert.Equal("options.MisfireGrace", grace.ParamName);

        var none = Assert.ThrowsAny<ArgumentException>(() => new CronRunner(sim.Factory, []));
        Assert.Equal("jobs", none.ParamName);

        var twice = Assert.ThrowsAny<ArgumentException>(() =>
            new CronRunner(sim.Factory, [job, CronJob.Create("other", "0 * * * *", Nothing), CronJob.Create("report", "*/5 * * * * *", Nothing)]));
        Assert.Equal("jobs", twice.ParamName);
        Assert.Contains("'report'", twice.Message, StringComparison.Ordinal);

        var nullJob = Assert.ThrowsAny<ArgumentException>(() => new CronRunner(sim.Factory, [job, null!]));
        Assert.Equal("jobs", nullJob.ParamName);

        var noElection = Assert.ThrowsAny<ArgumentException>(() => new CronRunner(sim.Factory, [job], new CronRunnerOptions { Election = null! }));
        Assert.Equal("options.Election", noElection.ParamName);

        Assert.All(sim.Nodes, n => Assert.Equal(0, n.Calls));
    }

    [Fact]
    public void AddCronJob_refuses_a_bad_expression_at_registration()
    {
        var services = new ServiceCollection();
        var builder = services.AddRedLock(o => o.Nodes.Add("127.0.0.1:1"));

        var ex = Assert.ThrowsAny<ArgumentException>(() => builder.AddCronJob("every minute", Nothing));
        Assert.Equal("cronExpression", ex.ParamName);
        var notCron = Assert.ThrowsAny<ArgumentException>(() => builder.AddCronJob("not a cron", Nothing));
        // what was expected first, then Cronos' detail
        Assert.StartsWith("Expected a cron expression of five fields (minute hour day-of-month month day-of-week, such as \"0 2 * * *\") or six with seconds first", notCron.Message, StringComparison.Ordinal);
        Assert.Contains("'not a cron' has 3 field(s). Cronos: ", notCron.Message, StringComparison.Ordinal);
        Assert.Contains("Minutes: Value must be a number between 0 and 59", notCron.Message, StringComparison.Ordinal);
        var outOfRange = Assert.ThrowsAny<ArgumentException>(() => builder.AddCronJob("61 * * * *", Nothing));
        Assert.Contains("'61 * * * *' has 5 field(s). Cronos:", outOfRange.Message, StringComparison.Ordinal);
        var negative = Assert.ThrowsAny<ArgumentException>(() => builder.AddCronJob("* * * * *", Nothing, configure: o => o.MisfireGrace = TimeSpan.FromSeconds(-5)));
        Assert.Equal("options.MisfireGrace", negative.ParamName);
        builder.AddCronJob("report", "* * * * *", Nothing);
        var twice = Assert.ThrowsAny<ArgumentException>(() => builder.AddCronJob("report", "*/5 * * * *", Nothing));
        Assert.Equal("name", twice.ParamName);
        Assert.Throws<InvalidOperationException>(() => services.AddRedLock(o => o.Nodes.Add("127.0.0.1:1")));
    }

    [Fact]
    public void AddLeaderElection_refuses_a_bad_or_changed_group_a_leading_callback_and_one_group_twice()
    {
        var builder = new ServiceCollection().AddRedLock(o => o.Nodes.Add("127.0.0.1:1"));
        Func<LeadershipTerm, CancellationToken, Task> work = (_, _) => Task.CompletedTask;

        Assert.Equal("group", Assert.ThrowsAny<ArgumentException>(() => builder.AddLeaderElection(" ", work)).ParamName);
        var moved = Assert.ThrowsAny<ArgumentException>(() => builder.AddLeaderElection("owners", work, o => o.Group = "other"));
        Assert.Equal("configure", moved.ParamName);
        Assert.Contains("'other'", moved.Message, StringComparison.Ordinal);
        Assert.Equal("configure", Assert.ThrowsAny<ArgumentException>(() => builder.AddLeaderElection("owners", work, o => o.OnStartedLeading = work)).ParamName);
        builder.AddLeaderElection("owners", work);
        Assert.Equal("group", Assert.ThrowsAny<ArgumentException>(() => builder.AddLeaderElection("owners", work)).ParamName);
        builder.AddLeaderElection("others", work);
        builder.AddIdempotency();
        Assert.Throws<InvalidOperationException>(() => builder.AddIdempotency());
    }
}
