using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>
/// Checks an instance's <see cref="RedLockOptions"/> with <see cref="RedLockOptions.Validate"/> when they are built
/// (at host start, with <c>ValidateOnStart</c>), and names the broken option as the configuration key it was bound
/// from (<c>RedLock:Nodes:2</c>), or as the option of the <c>AddRedLock</c> call that configured it in code.
/// </summary>
internal sealed partial class RedLockOptionsValidator(RedLockInstance instance, string? sectionPath) : IValidateOptions<RedLockOptions>
{
    private const string OptionsPrefix = "options.";

    public ValidateOptionsResult Validate(string? name, RedLockOptions options)
    {
        if (!string.Equals(name ?? Options.DefaultName, instance.OptionsName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail($"{Where(ex.ParamName)}: {Reason(ex)}");
        }
    }

    /// <summary>
    /// The configuration key of an option the core names <c>options.Nodes[2]</c>: <c>{section}:Nodes:2</c>; without a
    /// section, the option of the registration (<c>AddRedLock("payments") option Nodes[2]</c>).
    /// </summary>
    internal string Where(string? paramName)
    {
        var option = paramName is null ? "(unknown)"
            : paramName.StartsWith(OptionsPrefix, StringComparison.Ordinal) ? paramName[OptionsPrefix.Length..]
            : paramName;
        if (sectionPath is null)
        {
            return $"{instance.Describe} option {option}";
        }

        var key = Index().Replace(option, ":$1");
        return sectionPath.Length == 0 ? key : $"{sectionPath}:{key}";
    }

    /// <summary>The exception's rule without the parameter suffix the key replaces.</summary>
    internal static string Reason(ArgumentException ex)
    {
        var message = ex.ParamName is { } param ? ex.Message.Replace($" (Parameter '{param}')", string.Empty, StringComparison.Ordinal) : ex.Message;
        return message.ReplaceLineEndings(" ");
    }

    [GeneratedRegex(@"\[(\d+)\]")]
    private static partial Regex Index();
}
