using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Parley.Server.Data.Migrations.Sqlite
{
    /// <summary>
    /// Full-text search (issue 12): FTS5 external-content tables over <c>Messages.Content</c> (<c>MessageSearch</c>) and
    /// <c>Conversations.Title</c> (<c>ConversationSearch</c>), keyed by the tables' rowid, tokenized by <c>unicode61</c>
    /// with diacritics removed (case- and accent-insensitive). Each row also indexes its owner as one token in the column
    /// <c>Owner</c> (<c>'u' || UserId</c> without dashes; see <c>SearchApi.OwnerToken</c>), so a query
    /// <c>Owner : "u…" AND Content : (…)</c> walks the caller's rows only instead of ranking every user's matches. The
    /// content tables are the views <c>MessageSearchContent</c> and <c>ConversationSearchContent</c> (they add the owner).
    /// Triggers keep the indexes in the statement that writes the row, so in its transaction; the engine's write path is
    /// unchanged. A conversation's delete removes its messages' entries first (BEFORE DELETE: the cascade runs after the
    /// conversation's row is gone, when the owner can no longer be looked up; the messages' own delete trigger then skips
    /// them). Existing rows are indexed by <c>rebuild</c>. Raw SQL only: the EF Core model (and its snapshot) does not change.
    /// </summary>
    /// <remarks>
    /// The rowids of tables without an INTEGER PRIMARY KEY may change under a manual <c>VACUUM</c>; after one, run
    /// <c>INSERT INTO "MessageSearch"("MessageSearch") VALUES ('rebuild')</c> (and the same for <c>ConversationSearch</c>).
    /// A conversation's <c>UserId</c> never changes (the triggers assume it).
    /// </remarks>
    [DbContext(typeof(SqliteParleyDbContext))]
    [Migration("20261127083000_Search")]
    public partial class Search : Migration
    {
        // prefix: extra index entries for the first 2, 3 and 4 characters of every token, so the query's last word (always a
        // prefix) up to 4 characters is one index term the owner filter can step through, not a merge of every word that
        // starts with it over all users' rows. Longer prefixes match fewer words; a one-letter last word merges.
        private const string Tokenizer = "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4'";

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql($"""
                CREATE VIEW "MessageSearchContent" AS
                    SELECT m.rowid AS rowid, m."Content" AS "Content", {Owner("c.\"UserId\"")} AS "Owner"
                    FROM "Messages" AS m JOIN "Conversations" AS c ON c."Id" = m."ConversationId";
                CREATE VIEW "ConversationSearchContent" AS
                    SELECT rowid AS rowid, "Title", {Owner("\"UserId\"")} AS "Owner" FROM "Conversations";
                CREATE VIRTUAL TABLE "MessageSearch" USING fts5("Content", "Owner", content='MessageSearchContent', content_rowid='rowid', {Tokenizer});
                CREATE VIRTUAL TABLE "ConversationSearch" USING fts5("Title", "Owner", content='ConversationSearchContent', content_rowid='rowid', {Tokenizer});
                """);

            migrationBuilder.Sql($"""
                CREATE TRIGGER "MessageSearch_Insert" AFTER INSERT ON "Messages" BEGIN
                    INSERT INTO "MessageSearch"(rowid, "Content", "Owner") VALUES (new.rowid, new."Content", {MessageOwner("new")});
                END;
                """);
            migrationBuilder.Sql($"""
                CREATE TRIGGER "MessageSearch_Delete" AFTER DELETE ON "Messages"
                WHEN EXISTS (SELECT 1 FROM "Conversations" WHERE "Id" = old."ConversationId") BEGIN
                    INSERT INTO "MessageSearch"("MessageSearch", rowid, "Content", "Owner") VALUES ('delete', old.rowid, old."Content", {MessageOwner("old")});
                END;
                """);
            migrationBuilder.Sql($"""
                CREATE TRIGGER "MessageSearch_Update" AFTER UPDATE OF "Content" ON "Messages" BEGIN
                    INSERT INTO "MessageSearch"("MessageSearch", rowid, "Content", "Owner") VALUES ('delete', old.rowid, old."Content", {MessageOwner("old")});
                    INSERT INTO "MessageSearch"(rowid, "Content", "Owner") VALUES (new.rowid, new."Content", {MessageOwner("new")});
                END;
                """);
            migrationBuilder.Sql($"""
                CREATE TRIGGER "MessageSearch_ConversationDelete" BEFORE DELETE ON "Conversations" BEGIN
                    INSERT INTO "MessageSearch"("MessageSearch", rowid, "Content", "Owner")
                        SELECT 'delete', m.rowid, m."Content", {Owner("old.\"UserId\"")} FROM "Messages" AS m WHERE m."ConversationId" = old."Id";
                END;
                """);
            migrationBuilder.Sql($"""
                CREATE TRIGGER "ConversationSearch_Insert" AFTER INSERT ON "Conversations" BEGIN
                    INSERT INTO "ConversationSearch"(rowid, "Title", "Owner") VALUES (new.rowid, new."Title", {Owner("new.\"UserId\"")});
                END;
                """);
            migrationBuilder.Sql($"""
                CREATE TRIGGER "ConversationSearch_Delete" AFTER DELETE ON "Conversations" BEGIN
                    INSERT INTO "ConversationSearch"("ConversationSearch", rowid, "Title", "Owner") VALUES ('delete', old.rowid, old."Title", {Owner("old.\"UserId\"")});
                END;
                """);
            migrationBuilder.Sql($"""
                CREATE TRIGGER "ConversationSearch_Update" AFTER UPDATE OF "Title" ON "Conversations" BEGIN
                    INSERT INTO "ConversationSearch"("ConversationSearch", rowid, "Title", "Owner") VALUES ('delete', old.rowid, old."Title", {Owner("old.\"UserId\"")});
                    INSERT INTO "ConversationSearch"(rowid, "Title", "Owner") VALUES (new.rowid, new."Title", {Owner("new.\"UserId\"")});
                END;
                """);
            migrationBuilder.Sql("""
                INSERT INTO "MessageSearch"("MessageSearch") VALUES ('rebuild');
                INSERT INTO "ConversationSearch"("ConversationSearch") VALUES ('rebuild');
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER "MessageSearch_Insert";
                DROP TRIGGER "MessageSearch_Delete";
                DROP TRIGGER "MessageSearch_Update";
                DROP TRIGGER "MessageSearch_ConversationDelete";
                DROP TRIGGER "ConversationSearch_Insert";
                DROP TRIGGER "ConversationSearch_Delete";
                DROP TRIGGER "ConversationSearch_Update";
                DROP TABLE "MessageSearch";
                DROP TABLE "ConversationSearch";
                DROP VIEW "MessageSearchContent";
                DROP VIEW "ConversationSearchContent";
                """);
        }

        // The owner token of the message row new/old, from its conversation.
        private static string MessageOwner(string row) =>
            $"""(SELECT {Owner("\"UserId\"")} FROM "Conversations" WHERE "Id" = {row}."ConversationId")""";

        // The owner token of a user id column (GUID text): 'u' and the hex digits, one unicode61 token.
        private static string Owner(string userIdColumn) => $"""('u' || replace({userIdColumn}, '-', ''))""";
    }
}
