using System.Globalization;

namespace RedLockNet.Timing;

/// <summary>Durations as people read them in errors and logs.</summary>
internal static class Durations
{
    /// <summary>Milliseconds with one decimal: <c>12.5 ms</c>.</summary>
    public static string Describe(TimeSpan value) => value.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture) + " ms";
}
