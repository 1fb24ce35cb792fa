using System.ComponentModel.DataAnnotations;

namespace Parley.Server.Retention;

/// <summary>Deleting old conversations (section <c>Retention</c>), off by default.</summary>
public sealed class RetentionOptions : IValidatableObject
{
    /// <summary>Conversations whose last activity is older than this are deleted with their messages, e.g. <c>30.00:00:00</c>. Null (default) keeps everything.</summary>
    public TimeSpan? MaxAge { get; set; }

    /// <summary>How often the cleanup runs (one node at a time). Default 1 day; 1 minute to 30 days.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Conversations deleted per statement (and per short transaction). Default 500.</summary>
    [Range(1, 100_000, ErrorMessage = "Retention:BatchSize must be between {1} and {2}.")]
    public int BatchSize { get; set; } = 500;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxAge is { } age && age < TimeSpan.FromHours(1))
        {
            yield return new ValidationResult("Retention:MaxAge must be at least 01:00:00 (or unset to keep everything).", [nameof(MaxAge)]);
        }

        if (Interval < TimeSpan.FromMinutes(1) || Interval > TimeSpan.FromDays(30))
        {
            // 30 days: PeriodicTimer cannot wait more than about 49 days.
            yield return new ValidationResult("Retention:Interval must be between 00:01:00 and 30.00:00:00.", [nameof(Interval)]);
        }
    }
}
