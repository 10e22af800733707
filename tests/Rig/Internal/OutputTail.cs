namespace RedLockNet.TestRig;

/// <summary>A thread-safe ring buffer holding the last lines a process wrote, for error messages.</summary>
internal sealed class OutputTail(int capacity = 100)
{
    private readonly Queue<string> lines = new(capacity);
    private readonly Lock gate = new();

    /// <summary>Appends a line, dropping the oldest one when full; <see langword="null"/> (end of stream) is ignored.</summary>
    public void Add(string prefix, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (gate)
        {
            if (lines.Count == capacity)
            {
                lines.Dequeue();
            }

            lines.Enqueue(prefix + line);
        }
    }

    /// <summary>The buffered lines, oldest first, one per line; a placeholder when there are none.</summary>
    public override string ToString()
    {
        lock (gate)
        {
            return lines.Count == 0 ? "(no output)" : string.Join(Environment.NewLine, lines);
        }
    }
}
