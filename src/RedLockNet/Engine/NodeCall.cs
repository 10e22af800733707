using RedLockNet.Nodes;
using StackExchange.Redis;

namespace RedLockNet.Engine;

/// <summary>The answer of one node to one script, or why there was none.</summary>
internal readonly record struct NodeReply(int NodeIndex, RedisResult? Result, NodeFailure? Failure)
{
    /// <summary>The script returned integer 1 (granted / deleted / extended).</summary>
    public bool IsOne => Failure is null && Result is { IsNull: false } r && r.Resp2Type == ResultType.Integer && (long)r == 1;
}

/// <summary>Runs a script on one node under the per-node timeout; never throws for node faults.</summary>
internal static class NodeCall
{
    /// <summary>Sends at once; returns the raw call (still running after a timeout) for callers that must react to late answers.</summary>
    public static Task<RedisResult> Start(ILockNode node, LockScript script, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            return node.RunAsync(script, keys, args);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            return Task.FromException<RedisResult>(ex);
        }
    }

    /// <summary>Waits for <paramref name="call"/> at most <paramref name="timeout"/> and classifies the result.</summary>
    public static async Task<NodeReply> ReplyAsync(int index, ILockNode node, Task<RedisResult> call, TimeSpan timeout, TimeProvider time)
    {
        try
        {
            var result = await call.WaitAsync(timeout, time).ConfigureAwait(false);
            return new NodeReply(index, result, null);
        }
        catch (TimeoutException ex)
        {
            Observe(call);
            var detail = ex is RedisTimeoutException ? ex.Message : $"no answer within {NodeConnector.Describe(timeout)}";
            return new NodeReply(index, null, new NodeFailure(node.Name, NodeFailureKind.Timeout, detail));
        }
        catch (NodeQuarantinedException ex)
        {
            return new NodeReply(index, null, new NodeFailure(node.Name, NodeFailureKind.Quarantined, ex.Message));
        }
        catch (RedisConnectionException ex)
        {
            return new NodeReply(index, null, new NodeFailure(node.Name, NodeFailureKind.Unreachable, ex.FailureType + ": " + FirstLine(ex.Message)));
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            return new NodeReply(index, null, new NodeFailure(node.Name, NodeFailureKind.Error, FirstLine(ex.Message)));
        }
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
