using StackExchange.Redis;

namespace RedLockNet.Chaos;

/// <summary>
/// An <b>emulated</b> forward step of one node's wall clock. Redis and Garnet expire keys by the wall clock, so a
/// clock stepped forward by S (an NTP correction, a VM resumed) ends every key's TTL S early: keys with less than S
/// left expire at once, the others lose S. That is what this does, key by key (PTTL, then PEXPIRE to what is left,
/// at least 5 ms), in one script per key through a direct admin connection; keys without a TTL are untouched, as
/// they are by a real step. Why not a real step: Debian's redis-server aborts at start under libfaketime (jemalloc:
/// "Unexpected recursive calls to clock_gettime()"). The Garnet node host does run under libfaketime (tried by hand:
/// with FAKETIME_TIMESTAMP_FILE moved +1 h, a key with 100 s left was gone), but the scenarios must mean the same on
/// both backends, so both use this emulation. The node's own clock (TIME) does not move here, only what a step does
/// to its keys.
/// </summary>
public static class ClockStep
{
    private const string Script = """
        local t = redis.call('PTTL', KEYS[1])
        if t <= 0 then return 0 end
        local left = t - tonumber(ARGV[1])
        if left < 5 then left = 5 end
        redis.call('PEXPIRE', KEYS[1], left)
        return 1
        """;

    /// <summary>
    /// Applies a step of <paramref name="step"/> to every key of the node at <paramref name="endpoint"/> (or those
    /// matching <paramref name="pattern"/>: one resource's keys, which is all a scenario about one lock needs, and quick
    /// on nodes shared by many scenarios); returns how many keys it cut.
    /// </summary>
    /// <exception cref="TimeoutException">The node did not answer within 10 s (paused or down).</exception>
    public static async Task<int> EmulateAsync(ConnectionMultiplexer admin, string endpoint, TimeSpan step, string pattern = "*")
    {
        var server = admin.GetServer(endpoint);
        var db = admin.GetDatabase();
        var ms = (long)step.TotalMilliseconds;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var cut = 0;
        try
        {
            await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: 500).WithCancellation(deadline.Token))
            {
                var result = await Bounded.Within(db.ScriptEvaluateAsync(Script, [key], [ms]), TimeSpan.FromSeconds(5), $"clock step on {endpoint}");
                cut += (int)result;
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"the clock step on {endpoint} did not finish within 10 s (hang)");
        }

        return cut;
    }
}
