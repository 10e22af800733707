using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using RedLockNet.Engine;
using RedLockNet.Diagnostics;
using RedLockNet.Engine.Leases;
using RedLockNet.Nodes;
using RedLockNet.Timing;
using StackExchange.Redis;

namespace RedLockNet;

/// <summary>
/// Creates Redlock locks over a set of independent Redis nodes. Thread-safe; create one per set of nodes and share it.
/// Disposing it closes the connections it opened (never caller-owned ones); locks still held expire with their TTL.
/// </summary>
public sealed partial class RedLockFactory : ILockFactoryWithRecords, IAsyncDisposable
{
    private readonly RedLockOptions _options;
    private readonly EngineContext _engine;
    private readonly LockLeases _leases;
    private readonly ResiliencePipeline<AcquireAttempt>? _retry;
    private readonly QuarantinePolicy _quarantine;
    private readonly LockRecordStore _records;
    private readonly Task _listening;
    private int _disposed;

    private RedLockFactory(NodeSet nodes, RedLockOptions options, ILogger logger, QuarantinePolicy quarantine)
    {
        _options = options;
        _engine = new EngineContext(nodes, options, logger);
        _leases = new LockLeases(_engine, options);
        _retry = options.RetryPipeline;
        _records = new LockRecordStore(_engine);
        _quarantine = quarantine;
        _listening = _engine.Rooms.ListenAsync(nodes);
        if (nodes.Count % 2 == 0)
        {
            Log.EvenNodeCount(logger, nodes.Count);
        }

        if (logger.IsEnabled(LogLevel.Information))
        {
            Log.Connected(logger, nodes.Count, string.Join(", ", NodeNames), _engine.Majority);
        }
    }

    /// <summary>How many nodes the locks are spread over.</summary>
    public int NodeCount => _engine.Nodes.Count;

    /// <summary>How many nodes must agree for a lock: more than half.</summary>
    public int Majority => _engine.Majority;

    /// <summary>The nodes' endpoints (host:port), in configuration order.</summary>
    public IReadOnlyList<string> NodeNames => [.. _engine.Nodes.Nodes.Select(n => n.Name)];

    /// <summary>
    /// Validates <paramref name="options"/>, connects to every node in parallel (a node that is down now is
    /// reconnected in the background and votes against until then) and checks the nodes are distinct servers.
    /// </summary>
    /// <exception cref="ArgumentException">An option breaks a rule (the parameter name says which).</exception>
    /// <exception cref="RedLockConfigurationException">Two entries reach the same server.</exception>
    public static async Task<RedLockFactory> ConnectAsync(RedLockOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var snapshot = options.Clone();
        snapshot.Validate();
        var configs = NodeConnector.ParseNodes(snapshot);
        await NodeEndpoints.EnsureDistinctEndpointsAsync([.. configs.Select(c => c.EndPoints[0])], "options.Nodes", cancellationToken).ConfigureAwait(false);
        var logger = LoggerFor(snapshot);
        var quarantine = new QuarantinePolicy(snapshot, logger);
        var nodes = await NodeConnector.ConnectAsync(configs, quarantine, snapshot.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        return await new RedLockFactory(nodes, snapshot, logger, quarantine).ListeningAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Uses connections the caller already has, one multiplexer per independent node. The factory never disposes them.
    /// For short failover, configure them with <c>BacklogPolicy.FailFast</c>, <c>AbortOnConnectFail = false</c> and a short heartbeat.
    /// <see cref="RedLockOptions.Nodes"/> is ignored.
    /// </summary>
    public static async Task<RedLockFactory> CreateAsync(IEnumerable<IConnectionMultiplexer> multiplexers, RedLockOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(multiplexers);
        var snapshot = (options ?? new RedLockOptions()).Clone();
        snapshot.ValidateSettings();
        var list = multiplexers.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("At least one multiplexer is required; Redlock wants 3 or 5 independent Redis servers.", nameof(multiplexers));
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is null)
            {
                throw new ArgumentException($"Entry {i} is null.", nameof(multiplexers));
            }
        }

        if (list.Distinct(ReferenceEqualityComparer.Instance).Count() != list.Count)
        {
            throw new ArgumentException("The same multiplexer is listed twice; every node must be a different, independent server.", nameof(multiplexers));
        }

        await NodeEndpoints.EnsureDistinctEndpointsAsync([.. list.SelectMany(m => m.GetEndPoints().Take(1))], nameof(multiplexers), cancellationToken).ConfigureAwait(false);
        var logger = LoggerFor(snapshot);
        var quarantine = new QuarantinePolicy(snapshot, logger);
        var nodes = await NodeConnector.WrapAsync(list, quarantine, snapshot.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        return await new RedLockFactory(nodes, snapshot, logger, quarantine).ListeningAsync().ConfigureAwait(false);
    }

    /// <summary>Builds a factory over any node set (the simulated one in property tests); no independence check.</summary>
    internal static RedLockFactory CreateForNodes(IReadOnlyList<ILockNode> nodes, RedLockOptions options)
    {
        var snapshot = options.Clone();
        snapshot.ValidateSettings();
        var logger = LoggerFor(snapshot);
        return new RedLockFactory(new NodeSet(nodes), snapshot, logger, new QuarantinePolicy(snapshot, logger));
    }

    /// <summary>Returns this factory once it listens for wake-ups on the nodes that are up (the others subscribe when they reconnect).</summary>
    private async Task<RedLockFactory> ListeningAsync()
    {
        await _listening.ConfigureAwait(false);
        return this;
    }

    private static ILogger LoggerFor(RedLockOptions options) => (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger("RedLockNet");

    /// <inheritdoc />
    public Task<ILockHandle> AcquireAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        AcquireHandleAsync(resource, request, "redlock.acquire", LockPlan(request), cancellationToken);

    /// <inheritdoc />
    public Task<ILockHandle?> TryAcquireAsync(string resource, LockRequest? request = null, CancellationToken cancellationToken = default) =>
        TryAcquireHandleAsync(resource, request, "redlock.acquire", LockPlan(request), cancellationToken);

    /// <summary>Acquires as <paramref name="plan"/> says, waiting up to the request's (else the default) wait; a failure is thrown.</summary>
    private async Task<ILockHandle> AcquireHandleAsync(string resource, LockRequest? request, string activityName, WaitPlan plan, CancellationToken cancellationToken)
    {
        var wait = LockRequest.CheckWait(request?.WaitTimeout ?? _options.WaitTimeout, "request.WaitTimeout");
        var attempt = await AcquireCoreAsync(resource, request, wait, activityName, plan, cancellationToken).ConfigureAwait(false);
        return attempt.Grant is { } grant ? _leases.Open(grant, request) : throw Failure(resource, attempt, wait);
    }

    /// <summary>Tries as <paramref name="plan"/> says, waiting only when the request asks; null when held by others.</summary>
    private async Task<ILockHandle?> TryAcquireHandleAsync(string resource, LockRequest? request, string activityName, WaitPlan plan, CancellationToken cancellationToken)
    {
        var wait = LockRequest.CheckWait(request?.WaitTimeout ?? TimeSpan.Zero, "request.WaitTimeout");
        var attempt = await AcquireCoreAsync(resource, request, wait, activityName, plan, cancellationToken).ConfigureAwait(false);
        return attempt.Outcome switch
        {
            AcquireOutcome.Acquired => _leases.Open(attempt.Grant!, request),
            AcquireOutcome.Contended => null,
            _ => throw Failure(resource, attempt, wait),
        };
    }

    /// <summary>
    /// Stops renewing and closes the connections this factory opened. Held locks are not released: they expire
    /// with their TTL, and their lost tokens fire at their deadlines.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _leases.DisposeAsync().ConfigureAwait(false);
            await _engine.Nodes.DisposeAsync().ConfigureAwait(false);
            _engine.Timeouts.Dispose();
        }
    }

    /// <inheritdoc />
    public ILockRecords Records => _records;

    /// <summary>The clock every timing decision of this factory uses (<see cref="RedLockOptions.TimeProvider"/>).</summary>
    public TimeProvider TimeProvider => _options.TimeProvider;

    /// <summary>Where this factory logs (<see cref="RedLockOptions.LoggerFactory"/>; a null logger factory when none was set).</summary>
    public ILoggerFactory LoggerFactory => _options.LoggerFactory ?? NullLoggerFactory.Instance;

    /// <summary>
    /// The validity arithmetic of locks with <paramref name="expiry"/> under this factory's options (drift, minimum
    /// validity, lost-token margin).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The expiry is not usable with these options; names <paramref name="paramName"/>.</exception>
    public LockTiming TimingFor(TimeSpan expiry, string paramName = "expiry") => _options.TimingFor(expiry, paramName);

    /// <summary>The validated options snapshot this factory runs with.</summary>
    internal RedLockOptions Options => _options;

    /// <summary>The renewer, for tests that check it stops when no lease is left.</summary>
    internal LeaseRenewer Renewer => _leases.Renewer;

    /// <summary>
    /// One attempt of an acquisition (a lock's, a permit's, a reader's or a writer's); a waiting caller that holds a
    /// ticket passes it.
    /// </summary>
    private delegate Task<AcquireAttempt> AttemptOnce(EngineContext engine, string resource, RedisKey lockKey, LockTiming timing, bool mintToken, WaitingRooms.Ticket? ticket, CancellationToken cancellationToken);

    /// <summary>
    /// How an acquisition waits: its line in this process (<paramref name="Kind"/>), each attempt (<paramref name="Once"/>),
    /// whether a caller that found it held takes a ticket in the nodes' waiting rooms (<paramref name="Tickets"/>; from
    /// its first attempt when <paramref name="Fair"/>), and for a semaphore the slots whose rooms hold the ticket, for a
    /// reader-writer lock the key whose room does (<paramref name="RoomKeyOf"/>), else the room of the lock key. A class,
    /// so that the async methods carrying it hold a reference; a lock's two plans are shared.
    /// </summary>
    private sealed record WaitPlan(LocalWaiters.LineKind Kind, AttemptOnce Once, bool Tickets, bool Fair = false, RedisKey[]? Slots = null, Func<RedisKey, RedisKey>? RoomKeyOf = null);

    private static readonly AttemptOnce LockOnce = static (engine, resource, key, timing, mintToken, ticket, ct) =>
        Acquisition.AcquireOnceAsync(engine, resource, key, timing, mintToken, ct, ticket);

    private static readonly WaitPlan LockInArrivalOrder = new(LocalWaiters.LineKind.Lock, LockOnce, Tickets: true);

    private static readonly WaitPlan LockInFairOrder = LockInArrivalOrder with { Fair = true };

    /// <summary>A lock's plan: its own line, a ticket once held by others (or from the start in fair order).</summary>
    private WaitPlan LockPlan(LockRequest? request) => request?.FairOrder ?? _options.FairOrder ? LockInFairOrder : LockInArrivalOrder;

    /// <summary>
    /// An acquisition: one attempt when it may not wait, else attempts as <paramref name="plan"/> says until acquired
    /// or the wait is spent (<see cref="WaitForLockAsync"/>); traced as <paramref name="activityName"/> and measured.
    /// </summary>
    private async Task<AcquireAttempt> AcquireCoreAsync(string resource, LockRequest? request, TimeSpan wait, string activityName, WaitPlan plan, CancellationToken cancellationToken)
    {
        var (timing, mintToken) = Prepare(resource, request, cancellationToken);
        var key = LockKeys.For(_options.KeyPrefix, resource);
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        using var activity = RedLockTelemetry.Source.StartActivity(activityName, ActivityKind.Client);
        activity?.SetTag(RedLockTags.Resource, resource);
        AcquireAttempt? result = null;
        try
        {
            result = wait == TimeSpan.Zero
                ? await plan.Once(_engine, resource, key, timing, mintToken, null, cancellationToken).ConfigureAwait(false)
                : await WaitForLockAsync(resource, key, timing, mintToken, plan, wait, cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            RecordAcquire(activity, result, time.GetElapsedTime(started));
        }
    }

    /// <summary>Tags the acquisition's span with its outcome ("canceled" when it threw) and records its duration.</summary>
    private static void RecordAcquire(Activity? activity, AcquireAttempt? result, TimeSpan elapsed)
    {
        var tag = result is null ? "canceled" : RedLockTelemetry.OutcomeTag(result.Outcome);
        activity?.SetTag(RedLockTags.Outcome, tag);
        RedLockTelemetry.RecordAcquire(elapsed, tag);
    }

    /// <summary>
    /// Checks an acquisition's resource and request (throwing before anything is sent), notes its expiry for restart
    /// quarantine, and says whether it mints a token on acquisition.
    /// </summary>
    private (LockTiming Timing, bool MintToken) Prepare(string resource, LockRequest? request, CancellationToken cancellationToken)
    {
        LockResources.Validate(resource);
        var timing = LockTiming.Checked(request?.Expiry ?? _options.DefaultExpiry, _options, "request.Expiry");
        if (request?.MaxHoldTime is { } cap)
        {
            LockRequest.CheckHoldTime(cap, "request.MaxHoldTime");
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        _quarantine.NoteExpiry(timing.Expiry);
        return (timing, MintsToken(request));
    }

    /// <summary>Whether an acquisition mints a fencing token as it acquires (the request's choice, else the options').</summary>
    private bool MintsToken(LockRequest? request) => _options.Fencing && (request?.FencingOnAcquire ?? _options.FencingOnAcquire);

    /// <summary>
    /// Attempts until acquired or the wait runs out; an attempt under way is let finish. Callers wait in line
    /// (<see cref="WaitInLineAsync"/>); for locks, a custom <see cref="RedLockOptions.RetryPipeline"/> replaces the line,
    /// the waiting room and the back-off: each caller then retries on its own (the primitives always wait in line).
    /// </summary>
    private async Task<AcquireAttempt> WaitForLockAsync(string resource, RedisKey key, LockTiming timing, bool mintToken, WaitPlan plan, TimeSpan wait, CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        using var waitCts = wait == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(wait, time);
        using var link = cancellationToken.Register(static state => ((CancellationTokenSource)state!).Cancel(), waitCts);
        if (_retry is null || plan.Kind != LocalWaiters.LineKind.Lock)
        {
            return await WaitInLineAsync(resource, key, timing, mintToken, plan, waitCts.Token, cancellationToken).ConfigureAwait(false);
        }

        AcquireAttempt? last = null;
        try
        {
            return await _retry.ExecuteAsync(
                async waitToken =>
                {
                    if (waitToken.IsCancellationRequested && last is not null)
                    {
                        return last; // the wait is over: no new attempt
                    }

                    last = await plan.Once(_engine, resource, key, timing, mintToken, null, cancellationToken).ConfigureAwait(false);
                    return last;
                },
                waitCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && last is not null)
        {
            return last; // the wait timed out between attempts
        }
    }

    /// <summary>
    /// The first of this factory's line (one per resource and kind of wait) tries the nodes, and a release by this
    /// process wakes it at once. When the plan takes tickets, once it found the lock held (at once, in fair order) it
    /// holds a ticket in the waiting rooms, where the nodes keep one order for every process (<see cref="WaitingRooms"/>),
    /// and it is woken when the lock (a semaphore: a slot) is handed to it; without, a release in another process is
    /// seen at the next attempt. The back-off between attempts is the fallback for a lost wake-up.
    /// </summary>
    private async Task<AcquireAttempt> WaitInLineAsync(string resource, RedisKey key, LockTiming timing, bool mintToken, WaitPlan plan, CancellationToken waitToken, CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        var rooms = _engine.Rooms;
        var waiter = _engine.Waiters.Join(resource, plan.Kind);
        WaitingRooms.Ticket? ticket = null;
        AcquireAttempt? last = null;
        try
        {
            await waiter.Turn.WaitAsync(waitToken).ConfigureAwait(false);
            if (plan.Fair)
            {
                ticket = rooms.Issue(waiter);
            }

            var pauses = 0;
            while (true)
            {
                last = await plan.Once(_engine, resource, key, timing, mintToken, ticket, cancellationToken).ConfigureAwait(false);
                waiter.LastAttempt = last;
                if (last.Outcome == AcquireOutcome.Acquired || waitToken.IsCancellationRequested)
                {
                    return last;
                }

                if (plan.Tickets && ticket is null && last.Outcome == AcquireOutcome.Contended)
                {
                    // someone holds it: wait in the room from now on, and take a place there now, without a pause (the
                    // next attempt registers the ticket), so a release hands the lock over instead of freeing it
                    ticket = rooms.Issue(waiter);
                    continue;
                }

                await waiter.PauseAsync(Backoff.FullJitter(_options.MinRetryDelay, _options.MaxRetryDelay, pauses++), time, waitToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the wait ran out between attempts, or before this caller's turn came: then the nodes' last answer to the
            // line decides the outcome, so a caller behind is told of too few nodes, not of a lock held by others
            return last ?? OutcomeOfTheLineAhead(waiter, started);
        }
        finally
        {
            if (ticket is not null && plan.Slots is { } slots)
            {
                rooms.Return(_engine, slots, ticket);
            }
            else if (ticket is not null)
            {
                rooms.Return(_engine, plan.RoomKeyOf?.Invoke(key) ?? key, ticket);
            }

            _engine.Waiters.Leave(waiter);
        }
    }

    /// <summary>
    /// The outcome for a caller whose wait ran out before its turn came: the nodes' last answer to the line decides, so
    /// a caller behind is told of too few nodes, not of a lock held by others.
    /// </summary>
    private AcquireAttempt OutcomeOfTheLineAhead(LocalWaiters.Waiter waiter, long started)
    {
        var elapsed = _options.TimeProvider.GetElapsedTime(started);
        return _engine.Waiters.AttemptAhead(waiter) is { Outcome: AcquireOutcome.QuorumUnavailable } ahead
            ? new AcquireAttempt(AcquireOutcome.QuorumUnavailable, elapsed, ahead.Failures, "other callers of this process were ahead in line; the last attempt made for them: " + (ahead.Detail ?? "too few nodes answered"), null)
            : new AcquireAttempt(AcquireOutcome.Contended, elapsed, [], "other callers of this process were ahead in line", null);
    }

    private RedLockException Failure(string resource, AcquireAttempt attempt, TimeSpan wait)
    {
        return attempt.Outcome == AcquireOutcome.Contended
            ? new LockTimeoutException(resource, wait)
            : new QuorumUnavailableException(resource, "acquire", NodeCount, Majority, attempt.Failures, attempt.Detail);
    }
}
