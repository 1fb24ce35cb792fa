using System.ComponentModel.DataAnnotations;

namespace Parley.Server.Retention;

/// <summary>Deleting old conversations (section <c>Retention</c>), off by default.</summary>
public sealed class RetentionOptions : IValidatableObject
{
    /// <summary>Conversations whose last activity is older than this are deleted with their messages, e.g. <c>30.00:00:00</c>. Null (default) keeps everything.</summary>
    public TimeSpan? MaxAge { get; set; }

    /// <summary>How often the cleanup runs (one node at a time). Default 1 day; at least 1 minute.</summary>
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

        if (Interval < TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult("Retention:Interval must be at least 00:01:00.", [nameof(Interval)]);
        }
    }
}
