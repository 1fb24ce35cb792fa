using Microsoft.EntityFrameworkCore;
using Parley.Server.Data;

namespace Parley.Server.Accounts;

/// <summary>
/// Balance changes made outside the engine (admin top-ups and corrections, refills): the conditional update of the
/// balance and its <see cref="TokenTransaction"/> row in one database transaction. The engine writes its own charges and
/// refunds (with their rows) in its group commit.
/// </summary>
public static class Ledger
{
    /// <summary>
    /// Adds <paramref name="amount"/> (negative to take) to the user's balance unless that would leave it below zero, and
    /// records the row. Returns the balance after, or null when the user does not exist or the balance would go below zero
    /// (then nothing was written).
    /// </summary>
    /// <param name="db">The context (no transaction open).</param>
    /// <param name="userId">The user.</param>
    /// <param name="amount">Tokens to add (positive) or take (negative).</param>
    /// <param name="kind">The row's <see cref="TransactionKinds"/> value.</param>
    /// <param name="actorId">The admin who made it, if any.</param>
    /// <param name="reason">The admin's reason, if any.</param>
    /// <param name="now">The time of the change (UTC).</param>
    /// <param name="cancellationToken">Cancels before commit.</param>
    public static async Task<long?> AdjustAsync(
        ParleyDbContext db, Guid userId, long amount, string kind, Guid? actorId, string? reason, DateTime now, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // The update comes first: it takes the row's write lock (PostgreSQL) or the database's (SQLite) before the read below.
        var changed = await db.Users
            .Where(u => u.Id == userId && u.TokenBalance + amount >= 0)
            .ExecuteUpdateAsync(u => u.SetProperty(x => x.TokenBalance, x => x.TokenBalance + amount), cancellationToken);
        if (changed == 0)
        {
            return null;
        }

        var balance = await db.Users.Where(u => u.Id == userId).Select(u => u.TokenBalance).SingleAsync(cancellationToken);
        Append(db, userId, kind, amount, balance, actorId, reason, now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return balance;
    }

    /// <summary>Adds a ledger row to the context (saved by the caller, in the transaction of the balance change).</summary>
    public static TokenTransaction Append(
        ParleyDbContext db, Guid userId, string kind, long amount, long balanceAfter, Guid? actorId, string? reason, DateTime now)
    {
        var row = new TokenTransaction
        {
            Id = Guid.CreateVersion7(),
            UserId = userId,
            Kind = kind,
            Amount = amount,
            BalanceAfter = balanceAfter,
            ActorId = actorId,
            Reason = reason,
            CreatedAt = now,
        };
        db.TokenTransactions.Add(row);
        return row;
    }
}
