using System.Globalization;

namespace RedLockNet.Hosting.Election;

/// <summary>
/// Which leader did something: the term's epoch and the leader's identity, stored as <c>epoch|identity</c>. It is the
/// leader record that standbys read, and the value a cron tick is claimed with. This type alone owns the format.
/// </summary>
/// <param name="Epoch">The term's epoch (the lock's fencing token).</param>
/// <param name="Identity">The leader's identity (may itself contain the separator: only the first one counts).</param>
internal readonly record struct LeaderRecord(long Epoch, string Identity)
{
    /// <summary>The name of the leader record, kept next to the group's lock.</summary>
    public const string RecordName = "leader";

    private const char Separator = '|';

    /// <summary>The record of <paramref name="term"/>.</summary>
    public static LeaderRecord Of(LeadershipTerm term) => new(term.Epoch, term.Identity);

    /// <summary>The stored form, <c>epoch|identity</c>.</summary>
    public string Format() => Epoch.ToString(CultureInfo.InvariantCulture) + Separator + Identity;

    /// <summary>Reads a stored record; false for null or anything not of the form <c>epoch|identity</c>.</summary>
    public static bool TryParse(string? value, out LeaderRecord record)
    {
        var bar = value?.IndexOf(Separator, StringComparison.Ordinal) ?? -1;
        if (bar > 0 && long.TryParse(value.AsSpan(0, bar), NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch))
        {
            record = new LeaderRecord(epoch, value![(bar + 1)..]);
            return true;
        }

        record = default;
        return false;
    }

    /// <summary>The record with the highest epoch among the nodes' answers (null where absent), or null when none reads.</summary>
    public static LeaderRecord? Newest(IEnumerable<string?> values)
    {
        LeaderRecord? newest = null;
        foreach (var value in values)
        {
            if (TryParse(value, out var record) && (newest is null || record.Epoch >= newest.Value.Epoch))
            {
                newest = record;
            }
        }

        return newest;
    }
}
