using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Parley.Server.Data.Migrations.Sqlite
{
    /// <summary>
    /// Documents for retrieval (issue 12): <c>Documents</c>, <c>DocumentChunks</c>, <c>Conversations.UseDocuments</c>,
    /// <c>Messages.Sources</c>; and <c>DocumentChunkSearch</c>, an FTS5 external-content table over <c>DocumentChunks.Text</c>
    /// keyed by its INTEGER PRIMARY KEY (the rowid, stable under VACUUM), tokenized like search (<c>unicode61</c>,
    /// diacritics removed), kept by triggers in the statement that writes the row.
    /// </summary>
    public partial class Knowledge : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Sources",
                table: "Messages",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "UseDocuments",
                table: "Conversations",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.CreateTable(
                name: "Documents",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    UserId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Title = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Bytes = table.Column<long>(type: "INTEGER", nullable: false),
                    ChunkCount = table.Column<int>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Documents", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Documents_AspNetUsers_UserId",
                        column: x => x.UserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "DocumentChunks",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    DocumentId = table.Column<Guid>(type: "TEXT", nullable: false),
                    UserId = table.Column<Guid>(type: "TEXT", nullable: false),
                    ChunkIndex = table.Column<int>(type: "INTEGER", nullable: false),
                    Text = table.Column<string>(type: "TEXT", nullable: false),
                    TokenCount = table.Column<int>(type: "INTEGER", nullable: false),
                    Embedding = table.Column<byte[]>(type: "BLOB", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DocumentChunks", x => x.Id);
                    table.ForeignKey(
                        name: "FK_DocumentChunks_Documents_DocumentId",
                        column: x => x.DocumentId,
                        principalTable: "Documents",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_DocumentChunks_DocumentId_ChunkIndex",
                table: "DocumentChunks",
                columns: new[] { "DocumentId", "ChunkIndex" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_DocumentChunks_UserId",
                table: "DocumentChunks",
                column: "UserId");

            migrationBuilder.CreateIndex(
                name: "IX_Documents_UserId_CreatedAt",
                table: "Documents",
                columns: new[] { "UserId", "CreatedAt" });

            migrationBuilder.Sql("""
                CREATE VIRTUAL TABLE "DocumentChunkSearch" USING fts5("Text", content='DocumentChunks', content_rowid='Id', tokenize='unicode61 remove_diacritics 2');
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "DocumentChunkSearch_Insert" AFTER INSERT ON "DocumentChunks" BEGIN
                    INSERT INTO "DocumentChunkSearch"(rowid, "Text") VALUES (new."Id", new."Text");
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "DocumentChunkSearch_Delete" AFTER DELETE ON "DocumentChunks" BEGIN
                    INSERT INTO "DocumentChunkSearch"("DocumentChunkSearch", rowid, "Text") VALUES ('delete', old."Id", old."Text");
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "DocumentChunkSearch_Update" AFTER UPDATE OF "Text" ON "DocumentChunks" BEGIN
                    INSERT INTO "DocumentChunkSearch"("DocumentChunkSearch", rowid, "Text") VALUES ('delete', old."Id", old."Text");
                    INSERT INTO "DocumentChunkSearch"(rowid, "Text") VALUES (new."Id", new."Text");
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER "DocumentChunkSearch_Insert";
                DROP TRIGGER "DocumentChunkSearch_Delete";
                DROP TRIGGER "DocumentChunkSearch_Update";
                DROP TABLE "DocumentChunkSearch";
                """);
            migrationBuilder.DropTable(
                name: "DocumentChunks");

            migrationBuilder.DropTable(
                name: "Documents");

            // ALTER TABLE … DROP COLUMN in place: EF Core's DropColumn rebuilds the table on SQLite, which would drop the
            // MessageSearch and ConversationSearch triggers of migration Search.
            migrationBuilder.Sql("""ALTER TABLE "Messages" DROP COLUMN "Sources";""");
            migrationBuilder.Sql("""ALTER TABLE "Conversations" DROP COLUMN "UseDocuments";""");
        }
    }
}
