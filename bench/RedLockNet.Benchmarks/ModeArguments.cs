using System.Globalization;

namespace RedLockNet.Benchmarks;

/// <summary>
/// The command line of a console mode: positional values first, then <c>--name value</c> options among those the
/// mode knows. Values are read in the invariant culture; a bad one throws <see cref="ArgumentException"/> naming it.
/// </summary>
internal sealed class ModeArguments
{
    private readonly string[] positional;
    private readonly Dictionary<string, string> named;

    private ModeArguments(string[] positional, Dictionary<string, string> named)
    {
        this.positional = positional;
        this.named = named;
    }

    /// <summary>Splits <paramref name="args"/>; every option must be one of <paramref name="names"/> and have a value.</summary>
    /// <exception cref="ArgumentException">An unknown option, an option without a value, or a positional value after an option.</exception>
    public static ModeArguments Parse(string[] args, params string[] names)
    {
        var positional = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = positional.Length; i < args.Length; i += 2)
        {
            if (!names.Contains(args[i]) || i + 1 >= args.Length)
            {
                throw new ArgumentException(names.Contains(args[i]) ? $"{args[i]} needs a value" : $"unknown argument '{args[i]}'");
            }

            named[args[i]] = args[i + 1];
        }

        return new ModeArguments(positional, named);
    }

    /// <summary>The positional value at <paramref name="index"/> as a whole number in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent.</summary>
    public int Int(int index, string what, int fallback, int min, int max) =>
        index < positional.Length ? ParseInt(positional[index], what, min, max) : fallback;

    /// <summary>Option <paramref name="name"/> as a whole number in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent.</summary>
    public int Int(string name, int fallback, int min, int max) =>
        named.TryGetValue(name, out var text) ? ParseInt(text, name, min, max) : fallback;

    /// <summary>Option <paramref name="name"/>, one of <paramref name="choices"/>, or <paramref name="fallback"/> when absent.</summary>
    public string Choice(string name, string fallback, params string[] choices)
    {
        if (!named.TryGetValue(name, out var text))
        {
            return fallback;
        }

        return choices.Contains(text) ? text : throw new ArgumentException($"{name} must be {string.Join('|', choices)}, not '{text}'");
    }

    /// <summary><c>--members single|cluster|both</c> (default both): the member shapes to measure, in that order.</summary>
    public IReadOnlyList<MemberShape> MemberShapes() => Choice("--members", "both", "single", "cluster", "both") switch
    {
        "single" => [MemberShape.Single],
        "cluster" => [MemberShape.Cluster],
        _ => [MemberShape.Single, MemberShape.Cluster],
    };

    /// <summary>
    /// <c>--quarantine on|off</c> (default off): restart quarantine as the library's default
    /// (<see cref="RestartQuarantineMode.WhenNotPersistent"/>), or <see cref="RestartQuarantineMode.Off"/>.
    /// </summary>
    public RestartQuarantineMode Quarantine() =>
        Choice("--quarantine", "off", "on", "off") == "on" ? RestartQuarantineMode.WhenNotPersistent : RestartQuarantineMode.Off;

    private static int ParseInt(string text, string what, int min, int max) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{what} must be a whole number from {min} to {max}, not '{text}'"));
}
