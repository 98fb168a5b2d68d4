using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace TaskServer.Failover.Sweeping;

/// <summary>Configuration section <c>Retention</c>: how long finished tasks are kept, and how the primary removes them.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>A Succeeded, Failed or Cancelled task is removed once it finished this long ago.</summary>
    public TimeSpan FinishedTaskAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the primary looks for expired tasks.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Tasks removed per statement: small batches keep each delete short and its locks few.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;
}

internal sealed class RetentionOptionsValidator : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options)
    {
        var failures = new List<string>();
        if (options.FinishedTaskAge < TimeSpan.FromSeconds(1))
        {
            failures.Add("Retention:FinishedTaskAge must be at least one second (a task's client reads it after it finishes).");
        }

        if (options.Interval < TimeSpan.FromMilliseconds(100))
        {
            failures.Add("Retention:Interval must be at least 100 ms.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
