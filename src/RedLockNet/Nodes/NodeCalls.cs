using RedLockNet.Nodes.Scripts;
using RedLockNet.Timing;
using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>Starting a script on a node without throwing, and naming what went wrong when it failed.</summary>
internal static class NodeCalls
{
    /// <summary>Sends at once; a node that throws synchronously gives a faulted task instead.</summary>
    public static Task<RedisResult> Start(ILockNode node, in ScriptCall call)
    {
        try
        {
            return node.RunAsync(call);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            return Task.FromException<RedisResult>(ex);
        }
    }

    /// <summary>
    /// Runs <paramref name="call"/> on its own (outside a quorum round), sending the script's text when the node
    /// answers NOSCRIPT (its script cache is empty: a fresh or restarted server).
    /// </summary>
    public static async Task<RedisResult> RunAloneAsync(ILockNode node, ScriptCall call)
    {
        try
        {
            return await node.RunAsync(call).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (LockScript.IsNoScript(ex) && !call.WithText)
        {
            node.Failed(ex); // a new process or a SCRIPT FLUSH: a granting script waits for the node's check first
            return await node.RunAsync(call with { WithText = true }).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (EpochCheck.IsChanged(ex))
        {
            node.Failed(ex);
            throw;
        }
    }

    /// <summary>Why a call to <paramref name="node"/> failed, as a vote against: one line, and the full error beside it.</summary>
    public static NodeFailure Classify(string node, Exception? error) => error switch
    {
        RedisTimeoutException ex => new NodeFailure(node, NodeFailureKind.Timeout, Gist(ex.Message, node)) { Error = ex },
        NodeQuarantinedException ex => new NodeFailure(node, NodeFailureKind.Quarantined, ex.Message),
        RedisConnectionException ex => new NodeFailure(node, NodeFailureKind.Unreachable, WithKind(ex.FailureType.ToString(), Gist(ex.Message, node))) { Error = ex },
        null => new NodeFailure(node, NodeFailureKind.Error, "the call was cancelled"),
        _ when EpochCheck.IsChanged(error) => new NodeFailure(node, NodeFailureKind.Error, "the node lost its data since this client read its epoch; it is checked before it votes again") { Error = error },
        _ => new NodeFailure(node, NodeFailureKind.Error, Gist(error.Message, node)) { Error = error },
    };

    /// <summary>
    /// The gist of a client error for a one-line reason: its first line, cut before the connection state
    /// StackExchange.Redis appends (after "; ", or from ", command=", ", last:", ", next:", ", inst:" or " on
    /// <paramref name="node"/>), at most 160 characters.
    /// </summary>
    public static string Gist(string message, string node)
    {
        var gist = FirstLine(message);
        foreach (var marker in GistEnds)
        {
            Cut(ref gist, marker);
        }

        Cut(ref gist, " on " + node);
        gist = gist.TrimEnd(' ', ',', ';', ':');
        return gist.Length <= 160 ? gist : gist[..159] + "…";
    }

    private static readonly string[] GistEnds = ["; ", ", command=", ", last:", ", next:", ", inst:", " (Please take"];

    private static void Cut(ref string text, string marker)
    {
        var at = text.IndexOf(marker, StringComparison.Ordinal);
        if (at > 0)
        {
            text = text[..at];
        }
    }

    private static string WithKind(string kind, string gist) =>
        gist.StartsWith(kind, StringComparison.Ordinal) ? gist : kind + ": " + gist;

    /// <summary>A node that did not answer within <paramref name="timeout"/>.</summary>
    public static NodeFailure TimedOut(string node, TimeSpan timeout) =>
        new(node, NodeFailureKind.Timeout, $"no answer within {Durations.Describe(timeout)}");

    /// <summary><see cref="Observe"/>s <paramref name="call"/> and returns it, for a wait that may stop before it ends.</summary>
    public static Task<T> Observed<T>(Task<T> call)
    {
        Observe(call);
        return call;
    }

    /// <inheritdoc cref="Observed{T}(Task{T})"/>
    public static Task Observed(Task call)
    {
        Observe(call);
        return call;
    }

    /// <summary>Keeps a call we stopped waiting for from raising an unobserved-task exception later.</summary>
    public static void Observe(Task call)
    {
        if (!call.IsCompleted)
        {
            _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        else if (call.IsFaulted)
        {
            _ = call.Exception;
        }
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
