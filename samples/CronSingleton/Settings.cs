namespace CronSingleton;

/// <summary>Command line: no arguments for the embedded demo, or --nodes to run one replica against real Redis.</summary>
internal sealed record Settings(string[]? Nodes, string Name, TimeSpan Duration)
{
    public static Settings Parse(string[] args)
    {
        string[]? nodes = null;
        var name = $"replica-{Environment.ProcessId}";
        TimeSpan? duration = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--nodes" when i + 1 < args.Length:
                    nodes = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "--name" when i + 1 < args.Length:
                    name = args[++i];
                    break;
                case "--seconds" when i + 1 < args.Length && int.TryParse(args[i + 1], out var seconds) && seconds > 0:
                    duration = TimeSpan.FromSeconds(seconds);
                    i++;
                    break;
                default:
                    throw new ArgumentException($"Unknown or incomplete argument '{args[i]}'. Use --nodes host:port,host:port,host:port [--name NAME] [--seconds N].", nameof(args));
            }
        }

        return new Settings(nodes, name, duration ?? (nodes is null ? TimeSpan.FromSeconds(30) : Timeout.InfiniteTimeSpan));
    }
}
