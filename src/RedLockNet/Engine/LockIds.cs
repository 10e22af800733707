using System.Security.Cryptography;

namespace RedLockNet.Engine;

/// <summary>Lock ids: 128 bits from the operating system's CSPRNG, as 32 lowercase hex digits.</summary>
internal static class LockIds
{
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>The part of an id that may be logged: 8 hex digits (32 bits) identify it in logs without handing out the capability.</summary>
    public static string Prefix(string lockId) => lockId.Length <= 8 ? lockId : lockId[..8];
}
