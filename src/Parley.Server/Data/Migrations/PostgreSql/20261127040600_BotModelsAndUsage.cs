using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Parley.Server.Data.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class BotModelsAndUsage : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "Charge",
                table: "Messages",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int>(
                name: "CompletionTokens",
                table: "Messages",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "FinishReason",
                table: "Messages",
                type: "character varying(16)",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Model",
                table: "Messages",
                type: "character varying(100)",
                maxLength: 100,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "PromptTokens",
                table: "Messages",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "TokenCount",
                table: "Messages",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "Model",
                table: "Conversations",
                type: "character varying(100)",
                maxLength: 100,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "SystemPrompt",
                table: "Conversations",
                type: "character varying(8000)",
                maxLength: 8000,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Charge",
                table: "Messages");

            migrationBuilder.DropColumn(
                name: "CompletionTokens",
                table: "Messages");

            migrationBuilder.DropColumn(
                name: "FinishReason",
                table: "Messages");

            migrationBuilder.DropColumn(
                name: "Model",
                table: "Messages");

            migrationBuilder.DropColumn(
                name: "PromptTokens",
                table: "Messages");

            migrationBuilder.DropColumn(
                name: "TokenCount",
                table: "Messages");

            migrationBuilder.DropColumn(
                name: "Model",
                table: "Conversations");

            migrationBuilder.DropColumn(
                name: "SystemPrompt",
                table: "Conversations");
        }
    }
}
