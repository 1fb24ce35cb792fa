using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Parley.Engine;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Retention;

/// <summary>
/// Deletes conversations whose last activity (<c>UpdatedAt</c>) is older than <c>Retention:MaxAge</c>, with their messages
/// (foreign-key cascade), every <c>Retention:Interval</c>. One node runs it at a time: the run takes the <c>retention</c>
/// lease in <c>JobRuns</c> with a conditional update (both providers; no Orleans dependency). Deletes go in batches of
/// <c>Retention:BatchSize</c>, each its own short statement, so no lock is held for long. The last run's time and count
/// are stored in the same row for <c>GET /api/admin/stats</c>.
/// </summary>
public sealed partial class RetentionService(
    IServiceScopeFactory scopes,
    IOptions<RetentionOptions> options,
    IOptions<EngineOptions> engine,
    TimeProvider time,
    ILogger<RetentionService> logger) : PeriodicJob(time, logger)
{
    /// <summary>The <see cref="JobRun"/> row of this job.</summary>
    public const string JobName = "retention";

    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Runs the cleanup now if this node gets the lease; returns the number of conversations deleted, or null when retention
    /// is off or another node holds the lease. <paramref name="onlyIfDue"/> skips the run when the last one (on any node)
    /// finished less than half an interval ago — the scheduled runs of several nodes then make one run per interval.
    /// </summary>
    public async Task<long?> RunOnceAsync(bool onlyIfDue, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.MaxAge is not { } maxAge)
        {
            return null;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
        var node = engine.Value.NodeId;
        var now = Time.GetUtcNow().UtcDateTime;
        if (!await TryTakeLeaseAsync(db, node, now, onlyIfDue ? now - settings.Interval / 2 : null, cancellationToken))
        {
            return null;
        }

        long deleted = 0;
        try
        {
            var cutoff = now - maxAge;
            while (true)
            {
                var batch = await db.Conversations
                    .Where(c => c.UpdatedAt < cutoff && !c.Pinned) // pinned conversations are kept
                    .OrderBy(c => c.UpdatedAt)
                    .Select(c => c.Id)
                    .Take(settings.BatchSize)
                    .ToListAsync(cancellationToken);
                if (batch.Count == 0)
                {
                    break;
                }

                // Re-checked in the delete: a conversation that got a message since the select stays.
                deleted += await db.Conversations
                    .Where(c => batch.Contains(c.Id) && c.UpdatedAt < cutoff)
                    .ExecuteDeleteAsync(cancellationToken);
                if (batch.Count < settings.BatchSize)
                {
                    break;
                }
            }
        }
        finally
        {
            var finished = Time.GetUtcNow().UtcDateTime;
            await db.JobRuns.Where(j => j.Name == JobName && j.LeaseHolder == node)
                .ExecuteUpdateAsync(j => j.SetProperty(x => x.LeaseHolder, (string?)null).SetProperty(x => x.LeaseExpiresAt, (DateTime?)null)
                    .SetProperty(x => x.LastRunAt, finished).SetProperty(x => x.LastRunCount, deleted), CancellationToken.None);
        }

        LogDeleted(Logger, deleted, maxAge);
        return deleted;
    }

    private static async Task<bool> TryTakeLeaseAsync(ParleyDbContext db, string node, DateTime now, DateTime? lastRunBefore, CancellationToken cancellationToken)
    {
        if (!await db.JobRuns.AnyAsync(j => j.Name == JobName, cancellationToken))
        {
            try
            {
                db.JobRuns.Add(new JobRun { Name = JobName });
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException)
            {
                // Another node created the row at the same moment.
            }

            db.ChangeTracker.Clear();
        }

        var expires = now + Lease;
        return await db.JobRuns
            .Where(j => j.Name == JobName && (j.LeaseExpiresAt == null || j.LeaseExpiresAt < now)
                && (lastRunBefore == null || j.LastRunAt == null || j.LastRunAt < lastRunBefore))
            .ExecuteUpdateAsync(j => j.SetProperty(x => x.LeaseHolder, node).SetProperty(x => x.LeaseExpiresAt, expires), cancellationToken) == 1;
    }

    /// <inheritdoc />
    protected override TimeSpan? Period => options.Value.MaxAge is null ? null : options.Value.Interval;

    /// <inheritdoc />
    protected override Task RunScheduledAsync(CancellationToken cancellationToken) => RunOnceAsync(onlyIfDue: true, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Count} conversations inactive for more than {MaxAge}")]
    private static partial void LogDeleted(ILogger logger, long count, TimeSpan maxAge);
}
