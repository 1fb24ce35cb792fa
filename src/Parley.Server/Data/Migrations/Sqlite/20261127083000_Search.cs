using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Parley.Server.Data.Migrations.Sqlite
{
    /// <summary>
    /// Full-text search (issue 12): FTS5 external-content tables over <c>Messages.Content</c> (<c>MessageSearch</c>) and
    /// <c>Conversations.Title</c> (<c>ConversationSearch</c>), keyed by the tables' rowid, tokenized by <c>unicode61</c>
    /// with diacritics removed (case- and accent-insensitive). Triggers keep them in the statement that writes the row, so
    /// in its transaction; the engine's write path is unchanged. Existing rows are indexed by <c>rebuild</c>. Raw SQL only:
    /// the EF Core model (and its snapshot) does not change.
    /// </summary>
    /// <remarks>
    /// The rowids of tables without an INTEGER PRIMARY KEY may change under a manual <c>VACUUM</c>; after one, run
    /// <c>INSERT INTO "MessageSearch"("MessageSearch") VALUES ('rebuild')</c> (and the same for <c>ConversationSearch</c>).
    /// </remarks>
    [DbContext(typeof(SqliteParleyDbContext))]
    [Migration("20261127083000_Search")]
    public partial class Search : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            foreach (var (index, table, column) in Indexes)
            {
                migrationBuilder.Sql($"""
                    CREATE VIRTUAL TABLE "{index}" USING fts5("{column}", content='{table}', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
                    """);
                migrationBuilder.Sql($"""
                    CREATE TRIGGER "{index}_Insert" AFTER INSERT ON "{table}" BEGIN
                        INSERT INTO "{index}"(rowid, "{column}") VALUES (new.rowid, new."{column}");
                    END;
                    """);
                migrationBuilder.Sql($"""
                    CREATE TRIGGER "{index}_Delete" AFTER DELETE ON "{table}" BEGIN
                        INSERT INTO "{index}"("{index}", rowid, "{column}") VALUES ('delete', old.rowid, old."{column}");
                    END;
                    """);
                migrationBuilder.Sql($"""
                    CREATE TRIGGER "{index}_Update" AFTER UPDATE OF "{column}" ON "{table}" BEGIN
                        INSERT INTO "{index}"("{index}", rowid, "{column}") VALUES ('delete', old.rowid, old."{column}");
                        INSERT INTO "{index}"(rowid, "{column}") VALUES (new.rowid, new."{column}");
                    END;
                    """);
                migrationBuilder.Sql($"""INSERT INTO "{index}"("{index}") VALUES ('rebuild');""");
            }
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            foreach (var (index, _, _) in Indexes)
            {
                migrationBuilder.Sql($"""
                    DROP TRIGGER "{index}_Insert";
                    DROP TRIGGER "{index}_Delete";
                    DROP TRIGGER "{index}_Update";
                    DROP TABLE "{index}";
                    """);
            }
        }

        private static readonly (string Index, string Table, string Column)[] Indexes =
        [
            ("MessageSearch", "Messages", "Content"),
            ("ConversationSearch", "Conversations", "Title"),
        ];
    }
}
