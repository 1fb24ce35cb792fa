using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Accounts;

/// <summary>The periodic balance refill (section <c>Quota:Refill</c>), off by default; as LibreChat's <c>balance.refill</c>.</summary>
public sealed class RefillOptions : IValidatableObject
{
    /// <summary>Tokens added to each user's balance once per <see cref="Interval"/>. 0 (default) turns refills off.</summary>
    [Range(0, 1_000_000_000_000, ErrorMessage = "Quota:Refill:Amount must be between {1} and {2}.")]
    public long Amount { get; set; }

    /// <summary>How often a user is refilled, counted from the last refill (from registration before the first). Default 1 day; 1 minute to 30 days.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>True when refills are on.</summary>
    public bool Enabled => Amount > 0;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Interval < TimeSpan.FromMinutes(1) || Interval > TimeSpan.FromDays(30))
        {
            // 30 days: PeriodicTimer cannot wait more than about 49 days.
            yield return new ValidationResult("Quota:Refill:Interval must be between 00:01:00 and 30.00:00:00.", [nameof(Interval)]);
        }
    }
}

/// <summary>
/// Refills balances: every user whose last refill (or registration) is at least <c>Quota:Refill:Interval</c> old gets
/// <c>Quota:Refill:Amount</c> tokens and a <c>refill</c> ledger row, in one transaction per user. Each node runs it once a
/// minute (or once per interval if shorter); the conditional update on <c>LastRefillAt</c> makes a user's refill happen
/// once per interval however many nodes race for it.
/// </summary>
public sealed partial class RefillService(
    IServiceScopeFactory scopes, IOptions<RefillOptions> options, TimeProvider time, ILogger<RefillService> logger) : PeriodicJob(time, logger)
{
    private const int BatchSize = 200;

    /// <summary>Refills every user that is due now; returns how many were refilled by this call.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return 0;
        }

        var refilled = 0;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
        while (true)
        {
            var now = Time.GetUtcNow().UtcDateTime;
            var due = now - settings.Interval;
            var ids = await db.Users.AsNoTracking()
                .Where(u => !u.Disabled && (u.LastRefillAt ?? u.CreatedAt) <= due)
                .OrderBy(u => u.Id)
                .Select(u => u.Id)
                .Take(BatchSize)
                .ToListAsync(cancellationToken);
            foreach (var id in ids)
            {
                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                var won = await db.Users
                    .Where(u => u.Id == id && (u.LastRefillAt ?? u.CreatedAt) <= due)
                    .ExecuteUpdateAsync(u => u.SetProperty(x => x.TokenBalance, x => x.TokenBalance + settings.Amount)
                        .SetProperty(x => x.LastRefillAt, now), cancellationToken);
                if (won == 0)
                {
                    continue;
                }

                var balance = await db.Users.Where(u => u.Id == id).Select(u => u.TokenBalance).SingleAsync(cancellationToken);
                Ledger.Append(db, id, TransactionKinds.Refill, settings.Amount, balance, null, null, now);
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                db.ChangeTracker.Clear();
                refilled++;
            }

            // Every id of this batch is no longer due (refilled here or by another node), so the next query moves on.
            if (ids.Count < BatchSize)
            {
                break;
            }
        }

        if (refilled > 0)
        {
            LogRefilled(Logger, refilled, settings.Amount);
        }

        return refilled;
    }

    /// <inheritdoc />
    /// <remarks>Once a minute, or once per interval if that is shorter; off when refills are.</remarks>
    protected override TimeSpan? Period => options.Value switch
    {
        { Enabled: false } => null,
        { Interval: var interval } => interval < TimeSpan.FromMinutes(1) ? interval : TimeSpan.FromMinutes(1),
    };

    /// <inheritdoc />
    protected override Task RunScheduledAsync(CancellationToken cancellationToken) => RunOnceAsync(cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refilled {Count} users with {Amount} tokens each")]
    private static partial void LogRefilled(ILogger logger, int count, long amount);
}
