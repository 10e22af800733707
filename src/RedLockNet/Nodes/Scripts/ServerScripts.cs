using StackExchange.Redis;

namespace RedLockNet.Nodes.Scripts;

/// <summary>info.lua: returns an INFO section (identity and persistence checks) without admin mode. ARGV[1] section.</summary>
internal readonly record struct InfoCall(string Section)
{
    public static readonly LockScript Script = LockScript.Load("info");

    public static readonly InfoCall Server = new("server");

    public static readonly InfoCall Persistence = new("persistence");

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
