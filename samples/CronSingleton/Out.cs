using System.Globalization;

namespace CronSingleton;

/// <summary>Timestamped console lines.</summary>
internal static class Out
{
    private static readonly Lock Gate = new();

    public static void Line(string text)
    {
        lock (Gate)
        {
            Console.WriteLine($"{DateTimeOffset.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)} {text}");
        }
    }
}
