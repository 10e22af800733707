namespace RedLockNet.Chaos;

/// <summary>Every await of client or nemesis work in the chaos suite goes through here: a hang becomes a TimeoutException naming what hung.</summary>
public static class Bounded
{
    /// <summary>Waits for <paramref name="task"/> at most <paramref name="bound"/>.</summary>
    /// <exception cref="TimeoutException">It did not finish in time; the message names <paramref name="what"/>.</exception>
    public static async Task Within(Task task, TimeSpan bound, string what)
    {
        if (await Task.WhenAny(task, Task.Delay(bound, CancellationToken.None)) != task)
        {
            throw new TimeoutException($"{what} did not finish within {bound.TotalSeconds:0.#} s (hang)");
        }

        await task;
    }

    /// <summary>Waits for <paramref name="task"/> at most <paramref name="bound"/>.</summary>
    /// <exception cref="TimeoutException">It did not finish in time; the message names <paramref name="what"/>.</exception>
    public static async Task<T> Within<T>(Task<T> task, TimeSpan bound, string what)
    {
        await Within((Task)task, bound, what);
        return await task;
    }
}
