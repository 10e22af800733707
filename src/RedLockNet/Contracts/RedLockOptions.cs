using Microsoft.Extensions.Logging;
using Polly;
using StackExchange.Redis;

namespace RedLockNet;

/// <summary>
/// Settings of a <see cref="RedLockFactory"/>. The factory takes a snapshot when it is created;
/// changing the options afterwards has no effect on it.
/// </summary>
public sealed class RedLockOptions
{
    /// <summary>
    /// The independent Redis nodes, one StackExchange.Redis configuration string each
    /// (<c>"host:port"</c>, <c>"host:port,password=...,ssl=true,user=..."</c>).
    /// Use an odd number (3 or 5) of servers that fail independently; never replicas of one another.
    /// </summary>
    public IList<string> Nodes => _nodes;

    private List<string> _nodes = [];

    /// <summary>
    /// Adjusts each node's StackExchange.Redis settings, for what a configuration string cannot say: trusting a private
    /// CA (<c>c =&gt; c.TrustIssuer("/etc/redlock/ca.crt")</c>), a client certificate, a certificate validation callback.
    /// Called once per entry of <see cref="Nodes"/> when the factory connects, after the entry is parsed and RedLockNet's
    /// connection settings are applied. Default <see langword="null"/>. Not used by <see cref="RedLockFactory.CreateAsync"/>,
    /// whose connections are the caller's.
    /// </summary>
    public Action<ConfigurationOptions>? ConfigureConnection { get; set; }

    /// <summary>Prefix of every key RedLockNet writes. Default <c>redlock:</c>.</summary>
    public string KeyPrefix { get; set; } = "redlock:";

    /// <summary>Time to live of a lock when the request names none. Default 30 s.</summary>
    public TimeSpan DefaultExpiry { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long <see cref="IDistributedLockFactory.AcquireAsync(string, LockRequest?, CancellationToken)"/> waits
    /// for a contended lock before it throws <see cref="LockTimeoutException"/>. Default 10 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits until cancelled.
    /// </summary>
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Share of the expiry reserved for clock drift between this process and the nodes. Default 0.01 (1 %).
    /// The validity of a lock is <c>expiry - elapsed - (expiry x DriftFactor + DriftConstant)</c>.
    /// </summary>
    public double DriftFactor { get; set; } = 0.01;

    /// <summary>Fixed part of the drift allowance. Default 2 ms.</summary>
    public TimeSpan DriftConstant { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Least validity an acquisition must leave, else it counts as failed and is released.
    /// Default <see langword="null"/>: 10 % of the lock's expiry.
    /// </summary>
    public TimeSpan? MinValidity { get; set; }

    /// <summary>
    /// How long one node may take to answer one command before its answer counts as a vote against.
    /// Keep it far below the expiry. Default 200 ms.
    /// </summary>
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long connecting to one node may take, for nodes given as configuration strings. Default 2 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Shortest pause between two attempts at a contended lock. Default 10 ms.</summary>
    public TimeSpan MinRetryDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Longest pause between two attempts at a contended lock. Default 400 ms.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// Replaces the default wait. By default the callers of one factory wait in line per resource: the first tries,
    /// with full-jitter exponential delays between <see cref="MinRetryDelay"/> and <see cref="MaxRetryDelay"/>, and is
    /// woken at once when this factory releases the resource. A pipeline set here runs every caller's attempts on its
    /// own (no line), inside the wait timeout, and should retry results whose <see cref="AcquireAttempt.Outcome"/> is
    /// not <see cref="AcquireOutcome.Acquired"/>.
    /// </summary>
    public ResiliencePipeline<AcquireAttempt>? RetryPipeline { get; set; }

    /// <summary>
    /// Whether locks are renewed automatically while held (about every third of their expiry) until released.
    /// Default <see langword="true"/>; <see cref="LockRequest.AutoRenew"/> overrides it per call.
    /// </summary>
    public bool AutoRenew { get; set; } = true;

    /// <summary>
    /// Longest time automatic renewal keeps a lock alive, counted from before the acquisition's first send.
    /// Default <see langword="null"/>: no cap. <see cref="LockRequest.MaxHoldTime"/> overrides it per call.
    /// </summary>
    public TimeSpan? MaxHoldTime { get; set; }

    /// <summary>
    /// How long before the validity deadline <see cref="ILockHandle.LostToken"/> fires, so the holder can stop
    /// before the keys may expire. Default <see langword="null"/>: 5 % of the expiry (at most half the minimum validity). Must not exceed the minimum validity.
    /// </summary>
    public TimeSpan? LostTokenSafetyMargin { get; set; }

    /// <summary>
    /// Most locks renewed by one script call per node. Default 256. Set 1 for Redis Cluster nodes, where one
    /// script may only touch keys of one slot.
    /// </summary>
    public int RenewalBatchSize { get; set; } = 256;

    /// <summary>
    /// Whether holders may mint fencing tokens (<see cref="ILockHandle.GetFencingTokenAsync"/>). Default
    /// <see langword="true"/>. A token costs nothing until it is asked for: a plain acquisition writes no counter.
    /// </summary>
    public bool Fencing { get; set; } = true;

    /// <summary>
    /// Mint the fencing token during acquisition (one script that takes the lock and bumps the counter) instead of on
    /// first use. Default <see langword="false"/>; <see cref="LockRequest.FencingOnAcquire"/> overrides it per call.
    /// Worth it when every holder needs a token: it saves the extra round trip of minting later.
    /// </summary>
    public bool FencingOnAcquire { get; set; }

    /// <summary>
    /// Serve callers that wait for a lock strictly in order of arrival, across processes: every waiting attempt goes
    /// through the resource's waiting room on the nodes, the first one too, so a newcomer never overtakes a waiter.
    /// Default <see langword="false"/>: a caller first tries a plain <c>SET NX</c> (the cheapest acquisition) and enters
    /// the waiting room only once it found the lock held, so a newcomer can win only while nobody waits. Either way a
    /// release while someone waits hands the lock to the first waiter and wakes its process. The cost of fair order:
    /// each waiting acquisition runs a script instead of <c>SET NX</c>. <see cref="LockRequest.FairOrder"/> overrides it
    /// per call; <c>TryAcquireAsync</c> without a wait and a custom <see cref="RetryPipeline"/> do not wait in the room.
    /// </summary>
    public bool FairOrder { get; set; }

    /// <summary>
    /// How long a resource's fencing counter is kept on a node after its last acquisition. Default 10 minutes. Tokens
    /// stay increasing after a counter expired because every new value is at least the acquiring client's clock in
    /// microseconds; that needs client clocks to agree within this retention.
    /// </summary>
    public TimeSpan FenceRetention { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Where RedLockNet logs. Default: nowhere.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock for every timing decision. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// When a node that restarted (a new process, seen after its connection dropped) is kept out of the vote:
    /// by default when it reports no persistence. A quarantined node grants no lock until
    /// <see cref="RestartQuarantinePeriod"/> has passed since its start, so the locks it forgot have expired on their own.
    /// </summary>
    public RestartQuarantineMode RestartQuarantine { get; set; } = RestartQuarantineMode.WhenNotPersistent;

    /// <summary>
    /// How long after its start a restarted node stays out: the longest expiry any client uses on these nodes, plus
    /// its drift allowance. Default <see langword="null"/>: the longest of <see cref="DefaultExpiry"/> and every
    /// expiry this factory has acquired with, plus drift. Set it when other clients use longer expiries.
    /// </summary>
    public TimeSpan? RestartQuarantinePeriod { get; set; }

    /// <summary>
    /// Checks every option, the node entries included (at least one, each a StackExchange.Redis configuration string
    /// that names one endpoint). Each error names the option (<c>options.X</c>, <c>options.Nodes[i]</c>) and the rule.
    /// <see cref="RedLockFactory.ConnectAsync"/> runs it; call it to fail early, as RedLockNet.Hosting's options
    /// validation does at host start.
    /// </summary>
    /// <exception cref="ArgumentException">An option breaks a rule; <see cref="ArgumentException.ParamName"/> names it.</exception>
    public void Validate()
    {
        ValidateSettings();
        ValidateNodes();
    }

    /// <summary>
    /// The lock timing of <paramref name="expiry"/> under these options (drift allowance, minimum validity, lost-token
    /// margin), checked to be usable; what <see cref="RedLockFactory.TimingFor"/> returns for a factory built from them.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The expiry is not usable with these options; names <paramref name="paramName"/>.</exception>
    public LockTiming TimingFor(TimeSpan expiry, string paramName = "expiry") => LockTiming.Checked(expiry, this, paramName);

    /// <summary>The node entries' rules: at least one, each a configuration string naming one endpoint.</summary>
    private void ValidateNodes()
    {
        if (_nodes.Count == 0)
        {
            throw new ArgumentException("At least one node is required; Redlock wants 3 or 5 independent Redis servers.", "options.Nodes");
        }

        for (var i = 0; i < _nodes.Count; i++)
        {
            _ = ParseNode(_nodes[i], i);
        }
    }

    /// <summary>
    /// Parses node entry <paramref name="index"/> and checks it names one endpoint; the one place these rules live
    /// (the connector parses through it too). The text of an entry is never repeated: it may hold a password.
    /// </summary>
    internal static ConfigurationOptions ParseNode(string? node, int index)
    {
        var paramName = $"options.Nodes[{index}]";
        if (string.IsNullOrWhiteSpace(node))
        {
            throw new ArgumentException("Node entries must not be empty.", paramName);
        }

        ConfigurationOptions config;
        try
        {
            config = ConfigurationOptions.Parse(node);
        }
        catch (ArgumentException)
        {
            throw new ArgumentException("Each node must be a valid StackExchange.Redis configuration string such as \"host:port\" or \"host:port,password=...\".", paramName);
        }

        if (config.EndPoints.Count != 1)
        {
            throw new ArgumentException($"Each node entry must name exactly one endpoint (this one names {config.EndPoints.Count}); list independent nodes as separate entries.", paramName);
        }

        return config;
    }

    /// <summary>Checks every option but the node entries (which callers that bring their own connections do not use).</summary>
    internal void ValidateSettings()
    {
        if (KeyPrefix is null)
        {
            throw new ArgumentNullException("options.KeyPrefix", "KeyPrefix must not be null (use \"\" for no prefix).");
        }

        if (double.IsNaN(DriftFactor) || DriftFactor < 0 || DriftFactor >= 0.5)
        {
            throw new ArgumentOutOfRangeException("options.DriftFactor", DriftFactor, "DriftFactor must be at least 0 and below 0.5.");
        }

        RequireNonNegative(DriftConstant, "options.DriftConstant");
        if (MinValidity is { } minValidity)
        {
            RequireNonNegative(minValidity, "options.MinValidity");
        }

        RequirePositive(NodeTimeout, "options.NodeTimeout");
        RequirePositive(ConnectTimeout, "options.ConnectTimeout");
        RequirePositive(MinRetryDelay, "options.MinRetryDelay");
        if (MaxRetryDelay < MinRetryDelay)
        {
            throw new ArgumentOutOfRangeException("options.MaxRetryDelay", MaxRetryDelay, "MaxRetryDelay must not be shorter than MinRetryDelay.");
        }

        if (LostTokenSafetyMargin is { } margin)
        {
            RequireNonNegative(margin, "options.LostTokenSafetyMargin");
        }

        if (MaxHoldTime is { } cap)
        {
            LockRequest.CheckHoldTime(cap, "options.MaxHoldTime");
        }

        if (FenceRetention < TimeSpan.FromSeconds(1) || FenceRetention.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException("options.FenceRetention", FenceRetention, "FenceRetention must be between 1 second and about 24.8 days.");
        }

        if (!Enum.IsDefined(RestartQuarantine))
        {
            throw new ArgumentOutOfRangeException("options.RestartQuarantine", RestartQuarantine, "RestartQuarantine must be WhenNotPersistent, Always or Off.");
        }

        if (RestartQuarantinePeriod is { } period && (period <= TimeSpan.Zero || period > TimeSpan.FromDays(1)))
        {
            throw new ArgumentOutOfRangeException("options.RestartQuarantinePeriod", period, "RestartQuarantinePeriod must be positive and at most a day.");
        }

        if (RenewalBatchSize is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException("options.RenewalBatchSize", RenewalBatchSize, "RenewalBatchSize must be between 1 and 10000.");
        }

        LockRequest.CheckWait(WaitTimeout, "options.WaitTimeout");
        LockTiming.Checked(DefaultExpiry, this, "options.DefaultExpiry");
        if (TimeProvider is null)
        {
            throw new ArgumentNullException("options.TimeProvider", "TimeProvider must not be null.");
        }
    }

    /// <summary>
    /// A broken variant for the model tests only: hand out the largest counter without making a majority agree on it
    /// (no second round), which the fencing property test must catch.
    /// </summary>
    internal bool SkipFenceSettlementForTests { get; set; }

    internal RedLockOptions Clone()
    {
        var copy = (RedLockOptions)MemberwiseClone();
        copy._nodes = [.. _nodes];
        return copy;
    }

    private static void RequirePositive(TimeSpan value, string paramName)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, value, "Must be positive.");
        }
    }

    private static void RequireNonNegative(TimeSpan value, string paramName)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, value, "Must not be negative.");
        }
    }
}
