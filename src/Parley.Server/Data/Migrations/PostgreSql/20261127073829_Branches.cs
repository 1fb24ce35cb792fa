using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Parley.Server.Data.Migrations.PostgreSql
{
    /// <summary>
    /// A conversation is a tree of messages (issue 11): <c>Messages.ParentId</c>, <c>Conversations.CurrentMessageId</c>
    /// (the leaf of the branch the user is on), <c>Pinned</c> and <c>Archived</c>. Existing conversations migrate to a
    /// single branch.
    /// </summary>
    public partial class Branches : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Conversations_UserId_UpdatedAt_Id",
                table: "Conversations");

            migrationBuilder.AddColumn<Guid>(
                name: "ParentId",
                table: "Messages",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "Archived",
                table: "Conversations",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<Guid>(
                name: "CurrentMessageId",
                table: "Conversations",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "Pinned",
                table: "Conversations",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            // Existing conversations become a single branch: each message's parent is the one stored before it, and the
            // current message is the newest. Standard SQL, the same on SQLite and PostgreSQL.
            migrationBuilder.Sql("""
                UPDATE "Messages" SET "ParentId" = (
                    SELECT p."Id" FROM "Messages" p
                    WHERE p."ConversationId" = "Messages"."ConversationId" AND p."Sequence" = "Messages"."Sequence" - 1);
                """);
            migrationBuilder.Sql("""
                UPDATE "Conversations" SET "CurrentMessageId" = (
                    SELECT m."Id" FROM "Messages" m
                    WHERE m."ConversationId" = "Conversations"."Id" AND m."Sequence" = "Conversations"."LastSequence");
                """);

            migrationBuilder.CreateIndex(
                name: "IX_Messages_ConversationId_ParentId",
                table: "Messages",
                columns: new[] { "ConversationId", "ParentId" });

            migrationBuilder.CreateIndex(
                name: "IX_Conversations_UserId_Archived_Pinned_UpdatedAt_Id",
                table: "Conversations",
                columns: new[] { "UserId", "Archived", "Pinned", "UpdatedAt", "Id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Messages_ConversationId_ParentId",
                table: "Messages");

            migrationBuilder.DropIndex(
                name: "IX_Conversations_UserId_Archived_Pinned_UpdatedAt_Id",
                table: "Conversations");

            migrationBuilder.DropColumn(
                name: "ParentId",
                table: "Messages");

            migrationBuilder.DropColumn(
                name: "Archived",
                table: "Conversations");

            migrationBuilder.DropColumn(
                name: "CurrentMessageId",
                table: "Conversations");

            migrationBuilder.DropColumn(
                name: "Pinned",
                table: "Conversations");

            migrationBuilder.CreateIndex(
                name: "IX_Conversations_UserId_UpdatedAt_Id",
                table: "Conversations",
                columns: new[] { "UserId", "UpdatedAt", "Id" });
        }
    }
}
