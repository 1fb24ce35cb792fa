using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Accounts;
using Parley.Server.Conversations;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Search;

/// <summary>
/// Full-text search over the caller's messages and conversation titles. The indexes are kept by the database itself, in
/// the statement that stores the row (so in the engine's own transaction, without a change to its write path): on
/// SQLite FTS5 external-content tables maintained by triggers, on PostgreSQL stored generated <c>tsvector</c> columns
/// with GIN indexes (migration <c>Search</c> of each provider).
/// </summary>
public static class SearchApi
{
    /// <summary>The most results a page may ask for.</summary>
    public const int MaxLimit = 50;

    /// <summary>Maps <c>GET /api/search</c>.</summary>
    public static RouteGroupBuilder MapSearch(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/search").WithTags("Search").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        group.MapGet("/", Search).WithName("Search")
            .WithSummary("Search the caller's messages and conversation titles, most relevant first; snippets mark matched terms with «».");
        return group;
    }

    /// <summary>
    /// Searches the caller's messages (every message of every branch) and conversation titles. Every word of
    /// <paramref name="q"/> must match, case- and accent-insensitively; the last word matches as a prefix when it has 3 or more letters (<see cref="SearchTerms.MinPrefixLetters"/>), else as a whole word. Results are
    /// ranked by relevance (BM25 on SQLite, <c>ts_rank</c> on PostgreSQL; a title match weighs double), then newest
    /// first. A title match has a null <c>messageId</c>. <paramref name="limit"/> 1–50 (default 20); <paramref name="cursor"/>
    /// from the previous page. 400 when <c>q</c> holds no word or is longer than 500 characters, or on a bad limit or cursor.
    /// </summary>
    public static async Task<Results<Ok<Page<SearchResultDto>>, ValidationProblem>> Search(
        ClaimsPrincipal principal, ParleyDbContext db, string? q, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (q is { Length: > SearchTerms.MaxQueryLength })
        {
            return Problems.Field("q", $"q must be at most {SearchTerms.MaxQueryLength} characters.");
        }

        if (!SearchTerms.TryParse(q, out var terms))
        {
            return Problems.Field("q", "q must contain at least one word (letters or digits).");
        }

        var size = limit ?? 20;
        if (size is < 1 or > MaxLimit)
        {
            return Problems.Field("limit", $"limit must be between 1 and {MaxLimit}.");
        }

        var offset = 0;
        if (cursor is not null && !TryDecodeCursor(cursor, out offset))
        {
            return Problems.Field("cursor", "The cursor is not valid.");
        }

        var userId = principal.UserId();
        var take = size + 1;
        var rows = db.Database.IsNpgsql()
            ? await SearchPostgreSqlAsync(db, userId, terms.ToTsQuery(), take, offset, cancellationToken)
            : await SearchSqliteAsync(db, userId, terms.ToFts5(), take, offset, cancellationToken);
        string? next = null;
        if (rows.Count > size)
        {
            rows.RemoveAt(size);
            next = EncodeCursor(offset + size);
        }

        return TypedResults.Ok(new Page<SearchResultDto>(rows.ConvertAll(r => new SearchResultDto(
            r.ConversationId, r.MessageId, r.Title, r.Snippet ?? "", DateTime.SpecifyKind(r.CreatedAt, DateTimeKind.Utc))), next));
    }

    // The owner token narrows the match to the caller's rows inside the index (migration Search): FTS5 steps through the
    // common words' doclists by rowid from one of the caller's rows to the next, so the work follows the caller's own
    // matches. bm25 weights: Content 1, Owner 0 (the owner term adds nothing to the rank); bm25() is lower for better
    // matches. The page is chosen on rank and time alone; snippet()/highlight() (they re-read and re-tokenize the text)
    // run for the page's rows only, each through a rowid lookup in the index. snippet(): column 0, markers « », "…"
    // where text is cut, at most 16 tokens.
    private static Task<List<SearchRow>> SearchSqliteAsync(
        ParleyDbContext db, Guid userId, string words, int take, int offset, CancellationToken cancellationToken)
    {
        var messages = $"Owner : \"{OwnerToken(userId)}\" AND Content : ({words})";
        var titles = $"Owner : \"{OwnerToken(userId)}\" AND Title : ({words})";
        return db.Database.SqlQuery<SearchRow>($"""
            WITH hits AS (
                SELECT s.rowid AS "MessageRow", NULL AS "ConversationRow", m."ConversationId" AS "ConversationId", m."CreatedAt" AS "CreatedAt", bm25("MessageSearch", 1.0, 0.0) AS "Rank"
                FROM "MessageSearch" AS s JOIN "Messages" AS m ON m.rowid = s.rowid
                WHERE "MessageSearch" MATCH {messages}
                UNION ALL
                SELECT NULL, s.rowid, c."Id", c."CreatedAt", 2 * bm25("ConversationSearch", 1.0, 0.0)
                FROM "ConversationSearch" AS s JOIN "Conversations" AS c ON c.rowid = s.rowid
                WHERE "ConversationSearch" MATCH {titles}
                ORDER BY "Rank", "CreatedAt" DESC LIMIT {take} OFFSET {offset}
            )
            SELECT h."ConversationId" AS "ConversationId", m."Id" AS "MessageId", c."Title" AS "Title",
                   CASE WHEN h."MessageRow" IS NOT NULL
                       THEN (SELECT snippet("MessageSearch", 0, '«', '»', '…', 16) FROM "MessageSearch" WHERE "MessageSearch" MATCH {messages} AND rowid = h."MessageRow")
                       ELSE (SELECT highlight("ConversationSearch", 0, '«', '»') FROM "ConversationSearch" WHERE "ConversationSearch" MATCH {titles} AND rowid = h."ConversationRow")
                   END AS "Snippet",
                   h."CreatedAt" AS "CreatedAt", h."Rank" AS "Rank"
            FROM hits AS h
            JOIN "Conversations" AS c ON c."Id" = h."ConversationId"
            LEFT JOIN "Messages" AS m ON m.rowid = h."MessageRow"
            WHERE c."UserId" = {userId}
            ORDER BY h."Rank", h."CreatedAt" DESC
            """).ToListAsync(cancellationToken);
    }

    /// <summary>
    /// The SQLite full-text token of a user's rows (the <c>Owner</c> column of <c>MessageSearch</c>/<c>ConversationSearch</c>):
    /// <c>u</c> and the id's 32 hex digits; the index folds case, so it equals the triggers' <c>'u' || replace(UserId, '-', '')</c>.
    /// </summary>
    internal static string OwnerToken(Guid userId) => "u" + userId.ToString("N");

    // The page is chosen on the index and rank alone; ts_headline (costly: it re-parses the text) runs on that page only.
    private static Task<List<SearchRow>> SearchPostgreSqlAsync(
        ParleyDbContext db, Guid userId, string tsQuery, int take, int offset, CancellationToken cancellationToken) =>
        db.Database.SqlQuery<SearchRow>($"""
            WITH q AS (SELECT to_tsquery('parley_search', {tsQuery}) AS query),
            hits AS (
                SELECT m."ConversationId", m."Id" AS "MessageId", m."CreatedAt", ts_rank(m."SearchVector", q.query)::float8 AS "Rank"
                FROM "Messages" AS m JOIN "Conversations" AS c ON c."Id" = m."ConversationId", q
                WHERE m."SearchVector" @@ q.query AND c."UserId" = {userId}
                UNION ALL
                SELECT c."Id", NULL::uuid, c."CreatedAt", 2 * ts_rank(c."TitleVector", q.query)::float8
                FROM "Conversations" AS c, q
                WHERE c."TitleVector" @@ q.query AND c."UserId" = {userId}
                ORDER BY "Rank" DESC, "CreatedAt" DESC LIMIT {take} OFFSET {offset}
            )
            SELECT h."ConversationId", h."MessageId", c."Title",
                   ts_headline('parley_search', coalesce(m."Content", c."Title", ''), q.query,
                       'StartSel=«, StopSel=», MinWords=8, MaxWords=24') AS "Snippet",
                   h."CreatedAt", h."Rank"
            FROM hits AS h
            JOIN "Conversations" AS c ON c."Id" = h."ConversationId"
            LEFT JOIN "Messages" AS m ON m."Id" = h."MessageId", q
            ORDER BY h."Rank" DESC, h."CreatedAt" DESC
            """).ToListAsync(cancellationToken);

    private static string EncodeCursor(int offset) =>
        System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes("o:" + offset.ToString(CultureInfo.InvariantCulture)));

    private static bool TryDecodeCursor(string cursor, out int offset)
    {
        offset = 0;
        if (cursor.Length > 40)
        {
            return false;
        }

        try
        {
            var text = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(cursor));
            return text.StartsWith("o:", StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out offset) && offset <= 10_000;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A row of the search queries (column names are the SQL aliases).</summary>
    internal sealed class SearchRow
    {
        public Guid ConversationId { get; init; }

        public Guid? MessageId { get; init; }

        public string? Title { get; init; }

        public string? Snippet { get; init; }

        public DateTime CreatedAt { get; init; }

        public double Rank { get; init; }
    }
}

/// <summary>A search result.</summary>
/// <param name="ConversationId">The conversation.</param>
/// <param name="MessageId">The message that matched; null when the conversation's title matched.</param>
/// <param name="Title">The conversation's title (null while it has none).</param>
/// <param name="Snippet">Plain text around the match (never HTML), matched terms between « and »; "…" where the text is cut.</param>
/// <param name="CreatedAt">When the message (or, for a title match, the conversation) was created (UTC).</param>
public sealed record SearchResultDto(Guid ConversationId, Guid? MessageId, string? Title, string Snippet, DateTime CreatedAt);
