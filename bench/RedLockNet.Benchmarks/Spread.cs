using System.Globalization;

namespace RedLockNet.Benchmarks;

/// <summary>How the console modes summarize a figure measured once per round: the median, and the range around it.</summary>
internal static class Spread
{
    /// <summary>The median of <paramref name="samples"/> (the mean of the middle two for an even count); NaN for none.</summary>
    public static double Median(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary><c>median unit (min–max)</c>, or just <c>median unit</c> when every round gave the same (printed) value; <c>n/a</c> for none.</summary>
    public static string Format(IEnumerable<double> samples, Func<double, string> number, string unit)
    {
        var sorted = samples.Order().ToArray();
        if (sorted.Length == 0)
        {
            return "n/a";
        }

        var (low, high) = (number(sorted[0]), number(sorted[^1]));
        var median = number(Median(sorted));
        return low == high ? median + unit : $"{median}{unit} ({low}–{high})";
    }

    /// <summary><see cref="Format(IEnumerable{double}, Func{double, string}, string)"/> with a fixed invariant-culture number format.</summary>
    public static string Format(IEnumerable<double> samples, string format, string unit) =>
        Format(samples, v => v.ToString(format, CultureInfo.InvariantCulture), unit);
}
