using StackExchange.Redis;

namespace RedLockNet.Nodes.Scripts;

/// <summary>info.lua: returns an INFO section (identity and persistence checks) without admin mode. ARGV[1] section.</summary>
internal readonly record struct InfoCall(string Section)
{
    public static readonly LockScript Script = LockScript.Load("info");

    public static readonly InfoCall Server = new("server");

    public static readonly InfoCall Persistence = new("persistence");

    public static readonly InfoCall Replication = new("replication");

    public ScriptCall ToCall() => new(Script, [], [Section]);

    public static InfoCall Read(in ScriptCall call) => new((string)call.Args[0]!);
}

/// <summary>
/// fenced_set.lua: a write to a protected resource that refuses a token lower than the highest seen.
/// KEYS[1] hash with fields value and fence; ARGV[1] value, ARGV[2] token, ARGV[3] ttl ms (0: none). Reply 1 / 0.
/// </summary>
internal readonly record struct FencedSetCall(RedisKey Key, RedisValue Value, long Token, long TtlMs)
{
    public static readonly LockScript Script = LockScript.Load("fenced_set");

    public ScriptCall ToCall() => new(Script, [Key], [Value, Token, TtlMs]);
}

/// <summary>
/// identity.lua: the node's INFO server text, its data epoch (started here when it has none) and its clock.
/// KEYS[1] epoch key; ARGV[1] random hex for a new epoch. Reply {INFO server, epoch, node ms}: see <see cref="IdentityReply"/>.
/// </summary>
internal readonly record struct IdentityCall(RedisKey EpochKey, string NewEpoch)
{
    public static readonly LockScript Script = LockScript.Load("identity");

    public ScriptCall ToCall() => new(Script, [EpochKey], [NewEpoch]);

    public static IdentityCall Read(in ScriptCall call) => new(call.Keys[0], (string)call.Args[0]!);
}

/// <summary>What identity.lua answered.</summary>
internal static class IdentityReply
{
    /// <summary>The INFO server text, the epoch and its age on the node's clock; null for a reply of another shape.</summary>
    public static (string Info, string Epoch, TimeSpan EpochAge)? Read(RedisResult result)
    {
        if (result.Resp2Type != ResultType.Array || (RedisResult[]?)result is not { Length: 3 } parts
            || parts[0].Resp2Type != ResultType.BulkString || parts[1].Resp2Type != ResultType.BulkString || parts[2].Resp2Type != ResultType.Integer)
        {
            return null;
        }

        var epoch = (string)parts[1]!;
        var dash = epoch.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || !long.TryParse(epoch.AsSpan(0, dash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var created))
        {
            return null;
        }

        var age = TimeSpan.FromMilliseconds(Math.Max(0, (long)parts[2] - created));
        return ((string)parts[0]!, epoch, age);
    }

    /// <summary>The reply identity.lua gives.</summary>
    public static RedisResult Create(string info, string epoch, long nowMs) =>
        RedisResult.Create([RedisResult.Create((RedisValue)info), RedisResult.Create((RedisValue)epoch), RedisResult.Create(nowMs)]);
}

/// <summary>The error replies our scripts give (<c>redis.error_reply</c>), as the client sees them.</summary>
internal static class ScriptError
{
    /// <summary>
    /// The text of a script's error reply in <paramref name="error"/>, or null when it is not a server error. Garnet puts
    /// "ERR " before a script's error; Redis does not: that is removed, so the text starts with the script's own code.
    /// </summary>
    public static string? Text(Exception? error) =>
        error is not RedisServerException ex ? null
        : ex.Message.StartsWith("ERR ", StringComparison.Ordinal) ? ex.Message[4..]
        : ex.Message;

    /// <summary>Whether <paramref name="error"/> is a script's error reply starting with <paramref name="code"/>.</summary>
    public static bool Is(Exception? error, string code) => Text(error)?.StartsWith(code, StringComparison.Ordinal) == true;
}

/// <summary>The error a node gives when a granting script's epoch check fails (<c>_epoch_check.lua</c>).</summary>
internal static class EpochCheck
{
    public const string ErrorPrefix = "EPOCHCHANGED";

    /// <summary>Whether <paramref name="error"/> is a node saying it lost its data since the epoch this client knows.</summary>
    public static bool IsChanged(Exception? error) => ScriptError.Is(error, ErrorPrefix);
}

/// <summary>
/// slot_epoch.lua (Redis 7.0 or later, cluster shards only): marks a hash slot's epoch key with its shard's epoch when
/// the shard's anchor key still holds it. KEYS[1] the slot's epoch key; ARGV[1] the anchor key, ARGV[2] the epoch.
/// Reply 1, or an <see cref="EpochCheck"/> error.
/// </summary>
internal readonly record struct SlotEpochCall(RedisKey SlotKey, RedisKey AnchorKey, string Epoch)
{
    public static readonly LockScript Script = LockScript.Load("slot_epoch");

    public ScriptCall ToCall() => new(Script, [SlotKey], [(string?)AnchorKey, Epoch]);

    public static SlotEpochCall Read(in ScriptCall call) => new(call.Keys[0], (string?)call.Args[0], (string)call.Args[1]!);
}
