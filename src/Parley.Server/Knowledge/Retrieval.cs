using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Data;

namespace Parley.Server.Knowledge;

/// <summary>A chunk the retrieval stage found (column names are the SQL aliases of <see cref="FullTextRetriever"/>).</summary>
public sealed class RankedChunk
{
    /// <summary>Its document.</summary>
    public Guid DocumentId { get; init; }

    /// <summary>The document's title.</summary>
    public string Title { get; init; } = "";

    /// <summary>Its position in the document, from 0.</summary>
    public int ChunkIndex { get; init; }

    /// <summary>Its text.</summary>
    public string Text { get; init; } = "";
}

/// <summary>The retrieval stage's ranking: the chunks of a user's documents most relevant to a text.</summary>
public interface IRetriever
{
    /// <summary>At most <paramref name="topK"/> chunks of <paramref name="userId"/>'s documents, most relevant first; empty when none match.</summary>
    /// <param name="query">The text to answer (the user message).</param>
    /// <param name="userId">Whose documents: nobody else's are ever read.</param>
    /// <param name="topK">How many at most.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<IReadOnlyList<RankedChunk>> RetrieveAsync(string query, Guid userId, int topK, CancellationToken cancellationToken);
}

/// <summary>
/// Full-text ranking over the chunks' indexes, the same engines as search: SQLite FTS5 (<c>bm25</c>) and PostgreSQL
/// <c>tsvector</c> (<c>ts_rank</c>, configuration <c>parley_search</c>). The message's words (letters and digits, at least two
/// characters, the first 32 distinct ones) are OR-ed, so a chunk matching more and rarer words ranks higher.
/// </summary>
public sealed partial class FullTextRetriever(ParleyDbContext db) : IRetriever
{
    private const int MaxWords = 32;

    /// <inheritdoc />
    public async Task<IReadOnlyList<RankedChunk>> RetrieveAsync(string query, Guid userId, int topK, CancellationToken cancellationToken)
    {
        var words = Words(query);
        if (words.Count == 0)
        {
            return [];
        }

        if (db.Database.IsNpgsql())
        {
            var tsQuery = string.Join(" | ", words);
            return await db.Database.SqlQuery<RankedChunk>($"""
                SELECT c."DocumentId", d."Title", c."ChunkIndex", c."Text"
                FROM "DocumentChunks" AS c JOIN "Documents" AS d ON d."Id" = c."DocumentId",
                     to_tsquery('parley_search', {tsQuery}) AS q
                WHERE c."UserId" = {userId} AND c."SearchVector" @@ q
                ORDER BY ts_rank(c."SearchVector", q) DESC, c."DocumentId", c."ChunkIndex"
                LIMIT {topK}
                """).ToListAsync(cancellationToken);
        }

        var match = string.Join(" OR ", words.Select(w => $"\"{w}\""));
        return await db.Database.SqlQuery<RankedChunk>($"""
            SELECT c."DocumentId", d."Title", c."ChunkIndex", c."Text"
            FROM "DocumentChunkSearch" AS s
            JOIN "DocumentChunks" AS c ON c."Id" = s.rowid
            JOIN "Documents" AS d ON d."Id" = c."DocumentId"
            WHERE "DocumentChunkSearch" MATCH {match} AND c."UserId" = {userId}
            ORDER BY bm25("DocumentChunkSearch"), c."DocumentId", c."ChunkIndex"
            LIMIT {topK}
            """).ToListAsync(cancellationToken);
    }

    /// <summary>The query's words, lower-cased, distinct, in order: never any of the engines' query syntax.</summary>
    public static List<string> Words(string text) =>
        [.. WordPattern().Matches(text).Select(m => m.Value.ToLowerInvariant()).Where(w => w.Length >= 2).Distinct().Take(MaxWords)];

    [GeneratedRegex(@"[\p{L}\p{N}\p{Mn}\p{Mc}]+")]
    private static partial Regex WordPattern();
}
