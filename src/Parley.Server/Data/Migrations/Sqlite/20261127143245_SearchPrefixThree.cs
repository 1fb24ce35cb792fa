using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Parley.Server.Data.Migrations.Sqlite
{
    /// <summary>
    /// Issue 15: the messages' full-text index (<c>MessageSearch</c>) keeps a prefix index for 3 characters only, instead
    /// of 2, 3 and 4. Every message the group-commit writer stores is indexed in the writer's transaction (the
    /// <c>MessageSearch_Insert</c> trigger), and the 2- and 4-character prefix entries made that write path's tail twice as
    /// long: back to back on this project's 2-core machine (BENCHMARKS.md, issue 15 round 3), <c>turns</c> p99 was 52–54 ms
    /// with prefixes 2, 3, 4; 46–49 ms with 3, 4; and 31–33 ms with 3, at 6–18 % more turns per second. Queries follow
    /// (<see cref="Parley.Server.Search.SearchTerms"/>): a last word of 3 or more letters is a prefix, and one of 3 letters is one
    /// index term; a longer one merges the few words that start with it (29 ms for "that" in 1,000,000 messages); a last
    /// word of 1 or 2 letters is matched as a whole word (a 2-letter prefix merges thousands of words over every user's
    /// rows: 294 ms for "th" without its prefix index). The table is rebuilt from its content view; the triggers, which
    /// name it, are unchanged. <c>ConversationSearch</c> (titles, written once per conversation) keeps its index.
    /// </summary>
    public partial class SearchPrefixThree : Migration
    {
        private const string Recreate = """
            DROP TABLE "MessageSearch";
            CREATE VIRTUAL TABLE "MessageSearch" USING fts5("Content", "Owner", content='MessageSearchContent', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2', prefix='{0}');
            INSERT INTO "MessageSearch"("MessageSearch") VALUES ('rebuild');
            """;

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder) =>
            migrationBuilder.Sql(string.Format(System.Globalization.CultureInfo.InvariantCulture, Recreate, "3"));

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder) =>
            migrationBuilder.Sql(string.Format(System.Globalization.CultureInfo.InvariantCulture, Recreate, "2 3 4"));
    }
}
