using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace RedLockNet.Nodes.Scripts;

/// <summary>
/// A Lua script embedded in this assembly (Nodes/Scripts/*.lua), with its SHA1 for EVALSHA. A line
/// <c>--@include name</c> is replaced by the embedded fragment <c>_name.lua</c>, so a block two scripts share is
/// written once. Each script's keys and arguments are described by one C# type beside it (see <see cref="ScriptCall"/>).
/// </summary>
internal sealed class LockScript
{
    private const string IncludeDirective = "--@include ";

    private readonly Func<IDatabaseAsync, RedisKey[], RedisValue[], Task<RedisResult>>? _command;

    private LockScript(string name, string text, bool grantsLocks, Func<IDatabaseAsync, RedisKey[], RedisValue[], Task<RedisResult>>? command = null, string? checkedText = null, bool recallsRecords = false)
    {
        Name = name;
        GrantsLocks = grantsLocks;
        RecallsRecords = recallsRecords;
        Text = text;
        _command = command;
#pragma warning disable CA5350 // EVALSHA names scripts by SHA1; this is an identifier, not a security measure
        Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350
        if (grantsLocks || recallsRecords)
        {
            EpochChecked = new LockScript(name + "+epoch", Expand(Read("_epoch_check")) + (checkedText ?? text), grantsLocks: false);
        }
    }

    /// <summary>Whether the script can grant a lock or raise a fencing counter (a quarantined node must not run it).</summary>
    public bool GrantsLocks { get; }

    /// <summary>
    /// Whether the script reads or writes a record kept next to a lock (<see cref="ScriptCall.Recalls"/> says for how
    /// long): a node that lost its data more recently than that must not answer for it.
    /// </summary>
    public bool RecallsRecords { get; }

    /// <summary>
    /// For a script that can grant or that recalls records: the same script with the node's epoch check first (<c>_epoch_check.lua</c>), which
    /// the node layer sends with the epoch key and the epoch it knows appended to the keys and arguments. Null for the others.
    /// </summary>
    public LockScript? EpochChecked { get; }

    /// <summary>The file name without extension.</summary>
    public string Name { get; }

    /// <summary>The Lua source, with fragments included.</summary>
    public string Text { get; }

    /// <summary>SHA1 of the source, as EVALSHA wants it.</summary>
    public byte[] Sha1 { get; }

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>Whether this is a Lua script (a plain <see cref="Command"/> is not, and never meets NOSCRIPT).</summary>
    public bool IsScript => _command is null;

    /// <summary>
    /// Sends <paramref name="call"/> once, with no wrapper task: EVALSHA (or EVAL with <see cref="ScriptCall.WithText"/>),
    /// or the plain command. A NOSCRIPT error comes back as the task's fault; the quorum round retries it with the text.
    /// </summary>
    public Task<RedisResult> SendAsync(IDatabaseAsync database, in ScriptCall call) =>
        _command is { } command ? command(database, call.Keys, call.Args)
        : call.WithText ? database.ScriptEvaluateAsync(Text, call.Keys, call.Args)
        : database.ScriptEvaluateAsync(Sha1, call.Keys, call.Args);

    /// <summary>Whether <paramref name="error"/> is the server saying it does not have the script cached.</summary>
    public static bool IsNoScript(Exception? error) =>
        error is RedisServerException ex && ex.Message.StartsWith("NOSCRIPT", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// EVALSHA, falling back to EVAL (which caches the script there) when the server does not know it yet; a plain
    /// command (<see cref="Command"/>) is sent as it is. For calls outside a quorum round.
    /// </summary>
    public Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] args) =>
        _command is { } command ? command(database, keys, args) : EvaluateScriptAsync(database, keys, args);

    private async Task<RedisResult> EvaluateScriptAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            return await database.ScriptEvaluateAsync(Sha1, keys, args).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (IsNoScript(ex))
        {
            return await database.ScriptEvaluateAsync(Text, keys, args).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A single Redis command in place of a script (cheaper on the server when one command is atomic already);
    /// <paramref name="text"/> says what it sends. Described and simulated like the scripts. A command that can grant
    /// names the embedded script (<paramref name="scriptName"/>.lua) that does the same, for its epoch-checked form.
    /// </summary>
    public static LockScript Command(string name, string text, Func<IDatabaseAsync, RedisKey[], RedisValue[], Task<RedisResult>> command, string? scriptName = null) =>
        new(name, text, grantsLocks: scriptName is not null, command, scriptName is null ? null : Expand(Read(scriptName)));

    /// <summary>
    /// Loads <c>name.lua</c>; <paramref name="grantsLocks"/> marks scripts a quarantined node must not run,
    /// <paramref name="recallsRecords"/> those a node must not run for a while after it lost its data (see <see cref="RecallsRecords"/>).
    /// </summary>
    public static LockScript Load(string name, bool grantsLocks = false, bool recallsRecords = false) => new(name, Expand(Read(name)), grantsLocks, recallsRecords: recallsRecords);

    private static string Expand(string text)
    {
        var output = new StringBuilder(text.Length);
        foreach (var line in text.Split('\n'))
        {
            if (line.TrimStart().StartsWith(IncludeDirective, StringComparison.Ordinal))
            {
                output.Append(Expand(Read("_" + line.TrimStart()[IncludeDirective.Length..].Trim()))); // fragments may include fragments
                continue;
            }

            output.Append(line).Append('\n');
        }

        return output.ToString().TrimEnd('\n') + "\n";
    }

    private static string Read(string name)
    {
        var resource = $"RedLockNet.Scripts.{name}.lua";
        using var stream = typeof(LockScript).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded script '{resource}' is missing from the assembly.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}

/// <summary>One script invocation: the script, and its keys and arguments in the order its Lua file reads them.</summary>
internal readonly record struct ScriptCall(LockScript Script, RedisKey[] Keys, RedisValue[] Args)
{
    /// <summary>Send the script's text (EVAL) rather than its hash: the retry after a NOSCRIPT answer.</summary>
    public bool WithText { get; init; }

    /// <summary>
    /// For a script that recalls records: how long the record is kept (its retention). A node known to have lost its
    /// data less than this long ago could have forgotten it, and does not answer (restart quarantine for records).
    /// </summary>
    public TimeSpan Recalls { get; init; }

    /// <summary>
    /// This call's epoch-checked form (<see cref="LockScript.EpochChecked"/>): <paramref name="epochKey"/> appended to the
    /// keys and <paramref name="epoch"/> to the arguments, where <c>_epoch_check.lua</c> reads them.
    /// </summary>
    public ScriptCall WithEpoch(RedisKey epochKey, string epoch)
    {
        var keys = new RedisKey[Keys.Length + 1];
        Keys.CopyTo(keys, 0);
        keys[^1] = epochKey;
        var args = new RedisValue[Args.Length + 1];
        Args.CopyTo(args, 0);
        args[^1] = epoch;
        return this with { Script = Script.EpochChecked!, Keys = keys, Args = args };
    }
}

/// <summary>The scripts lock nodes run, loaded into each node's script cache when we connect and reconnect.</summary>
internal static class ScriptCatalog
{
    /// <summary>Every Lua script a lock node runs (plain commands and the protected resource's script are not among them).</summary>
    public static IReadOnlyList<LockScript> LockNodeScripts { get; } =
    [
        AcquireFencedCall.Script, AcquireAllCall.Script, AcquireWaitingCall.Script, WaitingLeaveCall.Script, FenceMintCall.Script, FenceRaiseCall.Script, ReleaseCall.Script, ExtendCall.Script,
        RecordPutCall.Script, RecordGetCall.Script, ClaimCall.Script, InfoCall.Script, IdentityCall.Script, SemaphoreScanCall.Script, SemaphoreLeaveCall.Script, ReadGrantCall.Script, WriteGrantCall.Script,
    ];

    /// <summary>The scripts only a Redis Cluster member's shards run (Redis 7.0 or later: script flags), loaded into every shard too.</summary>
    public static IReadOnlyList<LockScript> ClusterShardScripts { get; } = [SlotEpochCall.Script, ShardExtendCall.Script];

    /// <summary>The epoch-checked forms of the scripts that can grant or recall records, loaded too while restart quarantine is on.</summary>
    public static IReadOnlyList<LockScript> EpochCheckedScripts { get; } =
        [.. new[] { AcquireCall.Script, AcquireFencedCall.Script, AcquireAllCall.Script, AcquireWaitingCall.Script, FenceMintCall.Script, FenceRaiseCall.Script, RecordPutCall.Script, RecordGetCall.Script, ClaimCall.Script, ReadGrantCall.Script, WriteGrantCall.Script }.Select(script => script.EpochChecked!)];
}
