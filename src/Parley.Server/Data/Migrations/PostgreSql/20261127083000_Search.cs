using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Parley.Server.Data.Migrations.PostgreSql
{
    /// <summary>
    /// Full-text search (issue 12): the text search configuration <c>parley_search</c> (a copy of <c>simple</c> whose
    /// word tokens go through the <c>unaccent</c> dictionary first: lower-cased, accents removed, no stemming, no stop
    /// words), and stored generated <c>tsvector</c> columns <c>Messages.SearchVector</c> and
    /// <c>Conversations.TitleVector</c> with GIN indexes. A generated column is computed by the statement that writes the
    /// row, so in its transaction; the engine's write path is unchanged; adding it computes it for every existing row.
    /// Accents: through the dictionary (<c>to_tsvector(regconfig, text)</c> is immutable), not an immutable wrapper
    /// around the <c>unaccent()</c> function. Raw SQL only: the EF Core model (and its snapshot) does not change.
    /// </summary>
    [DbContext(typeof(PostgresParleyDbContext))]
    [Migration("20261127083000_Search")]
    public partial class Search : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // unaccent is a trusted extension (PostgreSQL 13+): the database owner may create it.
            migrationBuilder.Sql("CREATE EXTENSION IF NOT EXISTS unaccent;");
            migrationBuilder.Sql("""
                CREATE TEXT SEARCH CONFIGURATION parley_search (COPY = pg_catalog.simple);
                ALTER TEXT SEARCH CONFIGURATION parley_search ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
                """);
            migrationBuilder.Sql("""
                ALTER TABLE "Messages" ADD COLUMN "SearchVector" tsvector
                    GENERATED ALWAYS AS (to_tsvector('parley_search'::regconfig, "Content")) STORED;
                CREATE INDEX "IX_Messages_SearchVector" ON "Messages" USING GIN ("SearchVector");
                ALTER TABLE "Conversations" ADD COLUMN "TitleVector" tsvector
                    GENERATED ALWAYS AS (to_tsvector('parley_search'::regconfig, coalesce("Title", ''))) STORED;
                CREATE INDEX "IX_Conversations_TitleVector" ON "Conversations" USING GIN ("TitleVector");
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                ALTER TABLE "Conversations" DROP COLUMN "TitleVector";
                ALTER TABLE "Messages" DROP COLUMN "SearchVector";
                DROP TEXT SEARCH CONFIGURATION parley_search;
                """);
        }
    }
}
