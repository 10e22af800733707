using StackExchange.Redis;

namespace RedLockNet.Nodes;

/// <summary>
/// Redis Cluster's hash slots: which slot a key lands in, and for each slot a short hash tag that lands there, so a key
/// can be named for any slot (a cluster member's per-slot epoch keys, <see cref="ShardWatches"/>).
/// </summary>
internal static class KeySlots
{
    /// <summary>Redis Cluster's number of hash slots.</summary>
    public const int Count = 16384;

    private static readonly Lazy<string[]> TagsBySlot = new(FindTags);

    /// <summary>
    /// The hash slot of <paramref name="key"/>: CRC16 (XMODEM) of its hash tag (the bytes between the first <c>{</c>
    /// and the first <c>}</c> after it, when not empty), else of the whole key, modulo <see cref="Count"/>.
    /// </summary>
    public static int Of(RedisKey key) => OfBytes((byte[]?)key ?? []);

    /// <summary>A hash tag whose keys land in <paramref name="slot"/>: the same for every client, so they name the same keys.</summary>
    public static string TagFor(int slot) => TagsBySlot.Value[slot];

    private static int OfBytes(ReadOnlySpan<byte> bytes)
    {
        var open = bytes.IndexOf((byte)'{');
        if (open >= 0)
        {
            var close = bytes[(open + 1)..].IndexOf((byte)'}');
            if (close > 0)
            {
                bytes = bytes.Slice(open + 1, close);
            }
        }

        ushort crc = 0;
        foreach (var b in bytes)
        {
            crc ^= (ushort)(b << 8);
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            }
        }

        return crc % Count;
    }

    /// <summary>The first lowercase-hex number (0, 1, 2, …) that lands in each slot: about 170,000 hashes, once per process.</summary>
    private static string[] FindTags()
    {
        var tags = new string[Count];
        var found = 0;
        Span<byte> bytes = stackalloc byte[16];
        for (var n = 0; found < Count; n++)
        {
            n.TryFormat(bytes, out var length, "x", System.Globalization.CultureInfo.InvariantCulture);
            var slot = OfBytes(bytes[..length]);
            if (tags[slot] is null)
            {
                tags[slot] = System.Text.Encoding.ASCII.GetString(bytes[..length]);
                found++;
            }
        }

        return tags;
    }
}
