using System.Text.Json;

namespace RedLockNet.Idempotency;

/// <summary>Turns handler results into bytes for the completion record, and back for replays.</summary>
public interface IIdempotencySerializer
{
    /// <summary>Serializes <paramref name="value"/>.</summary>
    byte[] Serialize<T>(T value);

    /// <summary>Reads a value written by <see cref="Serialize{T}"/>.</summary>
    T Deserialize<T>(ReadOnlySpan<byte> data);
}

/// <summary>The default serializer: System.Text.Json (web defaults unless options are given).</summary>
public sealed class JsonIdempotencySerializer(JsonSerializerOptions? options = null) : IIdempotencySerializer
{
    private readonly JsonSerializerOptions _options = options ?? JsonSerializerOptions.Web;

    /// <summary>The instance with web defaults.</summary>
    public static JsonIdempotencySerializer Default { get; } = new();

    /// <inheritdoc />
    public byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, _options);

    /// <inheritdoc />
    public T Deserialize<T>(ReadOnlySpan<byte> data) => JsonSerializer.Deserialize<T>(data, _options)!;
}
