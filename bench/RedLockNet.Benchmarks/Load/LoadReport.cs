using System.Globalization;
using System.Text;

namespace RedLockNet.Benchmarks.Load;

/// <summary>How a metric is summarised over rounds.</summary>
internal enum MetricKind
{
    /// <summary>Client value / floor value of the same round; the floor column shows the floor's own value.</summary>
    Ratio,

    /// <summary>Each client's own value (median over rounds).</summary>
    Absolute,

    /// <summary>Each client's total over all rounds.</summary>
    Total,
}

/// <summary>One row of the table.</summary>
internal sealed record Metric(string Label, MetricKind Kind, string Unit);

/// <summary>Every value measured, per metric, client and round; prints the summary table.</summary>
internal sealed class LoadReport
{
    private readonly int rounds;
    private readonly List<Metric> metrics = [];
    private readonly Dictionary<(Metric Metric, ClientKind Client), double?[]> values = [];

    public LoadReport(int rounds) => this.rounds = rounds;

    public static IReadOnlyList<ClientKind> Clients { get; } = Enum.GetValues<ClientKind>();

    /// <summary>Records one round's value; rows appear in the order metrics are first recorded.</summary>
    public void Record(Metric metric, ClientKind client, int round, double value)
    {
        if (!metrics.Contains(metric))
        {
            metrics.Add(metric);
        }

        if (!values.TryGetValue((metric, client), out var perRound))
        {
            values[(metric, client)] = perRound = new double?[rounds];
        }

        perRound[round] = value;
    }

    public static double Percentile(long[] samples, int count, double quantile)
    {
        if (count == 0)
        {
            return double.NaN;
        }

        var sorted = samples[..count];
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(quantile * count) - 1;
        return sorted[Math.Clamp(rank, 0, count - 1)];
    }

    /// <summary>The markdown table: rows are metrics, columns the three clients (as ratios to the floor where the metric is one) and the floor.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append("| metric |");
        foreach (var client in Clients)
        {
            text.Append(' ').Append(LoadClient.NameOf(client)).Append(client == ClientKind.Floor ? " (absolute)" : string.Empty).Append(" |");
        }

        text.AppendLine().Append("|---|");
        foreach (var _ in Clients)
        {
            text.Append("---:|");
        }

        text.AppendLine();
        foreach (var metric in metrics)
        {
            text.Append("| ").Append(metric.Label).Append(" |");
            foreach (var client in Clients)
            {
                text.Append(' ').Append(Cell(metric, client)).Append(" |");
            }

            text.AppendLine();
        }

        return text.ToString();
    }

    private string Cell(Metric metric, ClientKind client)
    {
        if (!values.TryGetValue((metric, client), out var own))
        {
            return "–";
        }

        if (metric.Kind == MetricKind.Total)
        {
            return Format(own.Where(v => v is not null).Sum(v => v!.Value), metric.Unit);
        }

        if (metric.Kind == MetricKind.Ratio && client != ClientKind.Floor)
        {
            var floor = values[(metric, ClientKind.Floor)];
            var ratios = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                if (own[round] is { } value && floor[round] is { } reference && reference > 0 && !double.IsNaN(value))
                {
                    ratios.Add(value / reference);
                }
            }

            return Spread.Format(ratios, static v => v.ToString(v >= 100 ? "#,0" : "0.00", CultureInfo.InvariantCulture), "×");
        }

        return Spread.Format([.. own.Where(v => v is { } x && !double.IsNaN(x)).Select(v => v!.Value)], Number, metric.Unit.Length == 0 ? string.Empty : " " + metric.Unit);
    }

    private static string Format(double value, string unit) => Number(value) + (unit.Length == 0 ? string.Empty : " " + unit);

    private static string Number(double value) => Math.Abs(value) >= 100 || value == Math.Round(value)
        ? value.ToString("#,0", CultureInfo.InvariantCulture)
        : value.ToString("0.0", CultureInfo.InvariantCulture);
}
