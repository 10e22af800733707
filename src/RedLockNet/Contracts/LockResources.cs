namespace RedLockNet;

/// <summary>The rules for resource names (the names locks are taken on).</summary>
public static class LockResources
{
    /// <summary>The longest resource name, in characters.</summary>
    public const int MaxLength = 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="paramName"/> unless <paramref name="resource"/> is a usable resource name: not null, not empty or white space, at most <see cref="MaxLength"/> characters.</summary>
    public static void Validate(string resource, string paramName = "resource")
    {
        ArgumentNullException.ThrowIfNull(resource, paramName);
        if (string.IsNullOrWhiteSpace(resource))
        {
            throw new ArgumentException("The resource name must not be empty or white space.", paramName);
        }

        if (resource.Length > MaxLength)
        {
            throw new ArgumentException(
                $"The resource name must be at most {MaxLength} characters (it has {resource.Length}).", paramName);
        }
    }
}
