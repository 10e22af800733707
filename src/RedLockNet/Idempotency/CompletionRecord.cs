using System.Globalization;

namespace RedLockNet.Idempotency;

/// <summary>
/// The stored completion of one key: format version, fencing token of the run, completion time, status and the
/// base64 result, separated by '|'.
/// </summary>
internal sealed record CompletionRecord(long FencingToken, DateTimeOffset CompletedAt, bool ResultStored, byte[] Result)
{
    private const string Version = "v1";

    public string Format() => string.Join(
        '|',
        Version,
        FencingToken.ToString(CultureInfo.InvariantCulture),
        CompletedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
        ResultStored ? "ok" : "too-large",
        Convert.ToBase64String(Result));

    /// <summary>Reads a record; null for anything that is not one (a foreign value is never replayed).</summary>
    public static CompletionRecord? Parse(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var parts = value.Split('|');
        if (parts.Length != 5 || parts[0] != Version
            || !long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var token)
            || !long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var completedMs)
            || parts[3] is not ("ok" or "too-large"))
        {
            return null;
        }

        try
        {
            return new CompletionRecord(token, DateTimeOffset.FromUnixTimeMilliseconds(completedMs), parts[3] == "ok", Convert.FromBase64String(parts[4]));
        }
        catch (Exception ex) when (ex is FormatException or ArgumentOutOfRangeException)
        {
            return null; // bad base64, or a time outside DateTimeOffset's range
        }
    }
}
