using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Accounts;
using Parley.Server.Conversations;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Users;

/// <content>The caller's token ledger.</content>
public static partial class UsersApi
{
    /// <summary>200 with a page of the caller's ledger rows, newest first; 400 on a bad limit or cursor.</summary>
    public static async Task<Results<Ok<Page<TransactionDto>>, ValidationProblem>> Transactions(
        ClaimsPrincipal principal, ParleyDbContext db, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        var size = limit ?? 50;
        if (size is < 1 or > 100)
        {
            return Problems.Field("limit", "limit must be between 1 and 100.");
        }

        var userId = principal.UserId();
        var rows = db.TokenTransactions.AsNoTracking().Where(t => t.UserId == userId);
        if (cursor is not null)
        {
            if (!Guid.TryParseExact(cursor, "N", out var before))
            {
                return Problems.Field("cursor", "The cursor is not valid.");
            }

            rows = rows.Where(t => t.Id.CompareTo(before) < 0);
        }

        var page = await rows.OrderByDescending(t => t.Id).Take(size + 1).ToListAsync(cancellationToken);
        string? next = null;
        if (page.Count > size)
        {
            page.RemoveAt(size);
            next = page[^1].Id.ToString("N");
        }

        return TypedResults.Ok(new Page<TransactionDto>(page.ConvertAll(TransactionDto.From), next));
    }
}
