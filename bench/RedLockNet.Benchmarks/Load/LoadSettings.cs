using System.Globalization;

namespace RedLockNet.Benchmarks.Load;

/// <summary>The load mode's sizes: <c>load [--rounds N] [--seconds S] [--seed N] [--quick]</c>.</summary>
internal sealed record LoadSettings
{
    public int Rounds { get; init; } = 5;

    /// <summary>How long each timed scenario (throughput-64, contention) runs per client and round.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(3);

    public int SequentialPairs { get; init; } = 1000;

    /// <summary>The sequential scenario stops at this time even when fewer pairs were done.</summary>
    public TimeSpan SequentialBudget { get; init; } = TimeSpan.FromSeconds(10);

    public int WarmupPairs { get; init; } = 200;

    /// <summary>Warm-up's burst of 64 concurrent callers, per client and round.</summary>
    public TimeSpan WarmupDuration { get; init; } = TimeSpan.FromMilliseconds(500);

    public int FailingTries { get; init; } = 500;

    /// <summary>The failing-try scenario stops at this time per client (RedLock.net's ~0.5 s tries hit it).</summary>
    public TimeSpan FailingBudget { get; init; } = TimeSpan.FromSeconds(3);

    public int KilledPairs { get; init; } = 300;

    /// <summary>The node-killed scenario stops at this time per client.</summary>
    public TimeSpan KilledBudget { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary>With a node dead, each acquire and each release is abandoned (and counted failed) after this long.</summary>
    public TimeSpan CallBound { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The first seed; the floor's jitter of client k in round r uses <c>Seed + 1000 r + k</c>.</summary>
    public int Seed { get; init; } = 424242;

    public bool Quick { get; init; }

    public static bool TryParse(string[] args, out LoadSettings settings, out string error)
    {
        settings = args.Contains("--quick") ? QuickSettings : new LoadSettings();
        error = string.Empty;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    break;
                case "--rounds" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var rounds) && rounds is > 0 and <= 100:
                    settings = settings with { Rounds = rounds };
                    i++;
                    break;
                case "--seconds" when i + 1 < args.Length && double.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 600:
                    settings = settings with { Duration = TimeSpan.FromSeconds(seconds) };
                    i++;
                    break;
                case "--seed" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var seed) && seed >= 0:
                    settings = settings with { Seed = seed };
                    i++;
                    break;
                default:
                    error = $"load: unknown or invalid argument '{args[i]}'. Usage: load [--rounds N (1-100)] [--seconds S (per timed scenario)] [--seed N] [--quick]";
                    return false;
            }
        }

        return true;
    }

    private static LoadSettings QuickSettings => new()
    {
        Quick = true,
        Rounds = 2,
        Duration = TimeSpan.FromSeconds(1),
        SequentialPairs = 200,
        SequentialBudget = TimeSpan.FromSeconds(3),
        WarmupPairs = 50,
        WarmupDuration = TimeSpan.FromMilliseconds(200),
        FailingTries = 100,
        FailingBudget = TimeSpan.FromSeconds(1),
        KilledPairs = 50,
        KilledBudget = TimeSpan.FromSeconds(2),
    };
}
