using System.Security.Cryptography;
using System.Text;

namespace RedLockNet.Nodes;

/// <summary>A Lua script embedded in this assembly (Scripts/*.lua), with its SHA1 for EVALSHA.</summary>
internal sealed class LockScript
{
    /// <summary>Grants the lock when the key is free or already holds our id.</summary>
    public static readonly LockScript Acquire = Load("acquire");

    /// <summary>Acquire plus the node's fencing counter bump.</summary>
    public static readonly LockScript AcquireFenced = Load("acquire_fenced");

    /// <summary>Second fencing round: raise a lagging counter while the lock is still ours there.</summary>
    public static readonly LockScript FenceRaise = Load("fence_raise");

    /// <summary>Compare-on-fence write to a protected resource.</summary>
    public static readonly LockScript FencedSet = Load("fenced_set");

    /// <summary>Compare-and-delete.</summary>
    public static readonly LockScript Release = Load("release");

    /// <summary>Compare-then-pexpire of one or many locks; never re-creates an expired key.</summary>
    public static readonly LockScript Extend = Load("extend");

    /// <summary>Writes a record next to a lock, only while the lock is ours on the node.</summary>
    public static readonly LockScript RecordPut = Load("record_put");

    /// <summary>Reads a record kept next to a lock.</summary>
    public static readonly LockScript RecordGet = Load("record_get");

    /// <summary>Claims one scheduled tick for the lock holder, once per tick across holders.</summary>
    public static readonly LockScript TickClaim = Load("tick_claim");

    /// <summary>Returns an INFO section (identity and persistence checks).</summary>
    public static readonly LockScript Info = Load("info");

    private LockScript(string name, string text)
    {
        Name = name;
        GrantsLocks = name is "acquire" or "acquire_fenced" or "fence_raise";
        Text = text;
#pragma warning disable CA5350 // EVALSHA names scripts by SHA1; this is an identifier, not a security measure
        Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350
    }

    /// <summary>Whether the script can grant a lock or raise a fencing counter (a quarantined node must not run it).</summary>
    public bool GrantsLocks { get; }

    /// <summary>The file name without extension.</summary>
    public string Name { get; }

    /// <summary>The Lua source.</summary>
    public string Text { get; }

    /// <summary>SHA1 of the source, as EVALSHA wants it.</summary>
    public byte[] Sha1 { get; }

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>EVALSHA, falling back to EVAL (which caches the script there) when the server does not know it yet.</summary>
    public async Task<StackExchange.Redis.RedisResult> EvaluateAsync(StackExchange.Redis.IDatabaseAsync database, StackExchange.Redis.RedisKey[] keys, StackExchange.Redis.RedisValue[] args)
    {
        try
        {
            return await database.ScriptEvaluateAsync(Sha1, keys, args).ConfigureAwait(false);
        }
        catch (StackExchange.Redis.RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.OrdinalIgnoreCase))
        {
            return await database.ScriptEvaluateAsync(Text, keys, args).ConfigureAwait(false);
        }
    }

    private static LockScript Load(string name)
    {
        var resource = $"RedLockNet.Scripts.{name}.lua";
        using var stream = typeof(LockScript).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded script '{resource}' is missing from the assembly.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return new LockScript(name, reader.ReadToEnd());
    }
}
