using Microsoft.Extensions.Options;
using RedLockNet.Idempotency;

namespace RedLockNet.Hosting.DependencyInjection;

/// <summary>
/// Checks an instance's <see cref="IdempotencyOptions"/> when they are built (at host start, with
/// <c>ValidateOnStart</c>) by the processor's own rules, against the instance's lock timing.
/// </summary>
internal sealed class IdempotencyOptionsValidator(RedLockInstance instance, IServiceProvider services) : IValidateOptions<IdempotencyOptions>
{
    public ValidateOptionsResult Validate(string? name, IdempotencyOptions options)
    {
        if (!string.Equals(name ?? Options.DefaultName, instance.OptionsName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        ILockFactoryWithRecords locks;
        try
        {
            locks = instance.Get<ILockFactoryWithRecords>(services);
        }
        catch (OptionsValidationException)
        {
            return ValidateOptionsResult.Skip; // the lock options are broken, and say so themselves
        }

        try
        {
            _ = new IdempotentProcessor(locks, options); // sends nothing: checks the options and keeps them
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail($"AddIdempotency on {instance.Describe}: {ex.ParamName}: {RedLockOptionsValidator.Reason(ex)}");
        }
    }
}
