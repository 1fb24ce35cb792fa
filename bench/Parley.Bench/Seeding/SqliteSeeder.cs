using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Parley.Bench.Seeding;

/// <summary>
/// Writes messages straight into a stopped server's SQLite file, in one transaction with one prepared statement, in the
/// shape the server writes them (upper-case GUID text, <c>yyyy-MM-dd HH:mm:ss.FFFFFFF</c> times, alternating completed
/// user/assistant messages with contiguous sequences) and moves each conversation's <c>LastSequence</c>/<c>Version</c>
/// to match. The conversations must exist (created through the API) and be empty.
/// </summary>
internal static class SqliteSeeder
{
    private const string TimeFormat = "yyyy-MM-dd HH:mm:ss.FFFFFFF";

    /// <summary>Seeds <paramref name="messagesPerConversation"/> messages into each conversation; returns the messages written.</summary>
    public static long Seed(string databasePath, IReadOnlyList<Guid> conversations, int messagesPerConversation, Action<long>? progress = null)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        Execute(connection, "PRAGMA synchronous=OFF;");
        long written = 0;
        using (var transaction = connection.BeginTransaction())
        {
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText =
                "INSERT INTO \"Messages\" (\"Id\", \"ConversationId\", \"Sequence\", \"Role\", \"Content\", \"Status\", \"ClientMessageId\", \"NodeId\", \"CreatedAt\", \"ParentId\") " +
                "VALUES ($id, $conversation, $sequence, $role, $content, 'completed', NULL, NULL, $created, $parent)";
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var conversation = insert.Parameters.Add("$conversation", SqliteType.Text);
            var sequence = insert.Parameters.Add("$sequence", SqliteType.Integer);
            var role = insert.Parameters.Add("$role", SqliteType.Text);
            var content = insert.Parameters.Add("$content", SqliteType.Text);
            var created = insert.Parameters.Add("$created", SqliteType.Text);
            var parent = insert.Parameters.Add("$parent", SqliteType.Text); // one branch: each message follows the previous one
            insert.Prepare();

            using var update = connection.CreateCommand();
            update.Transaction = transaction;
            update.CommandText =
                "UPDATE \"Conversations\" SET \"LastSequence\" = $last, \"Version\" = $last, \"UpdatedAt\" = $updated, \"CurrentMessageId\" = $current, " +
                "\"Title\" = COALESCE(\"Title\", 'Seeded conversation') WHERE \"Id\" = $id AND \"LastSequence\" = 0";
            var last = update.Parameters.Add("$last", SqliteType.Integer);
            var updated = update.Parameters.Add("$updated", SqliteType.Text);
            var conversationId = update.Parameters.Add("$id", SqliteType.Text);
            var current = update.Parameters.Add("$current", SqliteType.Text);
            update.Prepare();

            var start = DateTime.UtcNow.AddDays(-30);
            for (var c = 0; c < conversations.Count; c++)
            {
                var key = Text(conversations[c]);
                conversation.Value = key;
                var time = start;
                parent.Value = DBNull.Value;
                for (var s = 1; s <= messagesPerConversation; s++)
                {
                    time = time.AddMilliseconds(1);
                    var user = s % 2 == 1;
                    if (s > 1)
                    {
                        parent.Value = id.Value;
                    }

                    id.Value = Text(Guid.CreateVersion7(new DateTimeOffset(time)));
                    sequence.Value = s;
                    role.Value = user ? "user" : "assistant";
                    content.Value = string.Create(CultureInfo.InvariantCulture, $"Seeded message {(s + 1) / 2} of conversation {c}: a short line of text.");
                    created.Value = time.ToString(TimeFormat, CultureInfo.InvariantCulture);
                    insert.ExecuteNonQuery();
                }

                last.Value = messagesPerConversation;
                current.Value = messagesPerConversation > 0 ? id.Value : DBNull.Value;
                updated.Value = time.ToString(TimeFormat, CultureInfo.InvariantCulture);
                conversationId.Value = key;
                if (update.ExecuteNonQuery() != 1)
                {
                    throw new InvalidOperationException($"Conversation {key} does not exist or is not empty.");
                }

                written += messagesPerConversation;
                progress?.Invoke(written);
            }

            transaction.Commit();
        }

        Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
        return written;
    }

    /// <summary>Inserts <paramref name="count"/> empty conversations; conversation i belongs to <c>owners[i % owners.Count]</c>.</summary>
    public static Guid[] SeedConversations(string databasePath, IReadOnlyList<Guid> owners, int count)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        var ids = new Guid[count];
        using (var transaction = connection.BeginTransaction())
        {
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText =
                "INSERT INTO \"Conversations\" (\"Id\", \"UserId\", \"Title\", \"CreatedAt\", \"UpdatedAt\", \"Version\", \"LastSequence\") " +
                "VALUES ($id, $user, NULL, $now, $now, 0, 0)";
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var user = insert.Parameters.Add("$user", SqliteType.Text);
            var now = insert.Parameters.Add("$now", SqliteType.Text);
            insert.Prepare();
            var time = DateTime.UtcNow;
            for (var i = 0; i < count; i++)
            {
                time = time.AddTicks(10);
                ids[i] = Guid.CreateVersion7(new DateTimeOffset(time));
                id.Value = Text(ids[i]);
                user.Value = Text(owners[i % owners.Count]);
                now.Value = time.ToString(TimeFormat, CultureInfo.InvariantCulture);
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
        return ids;
    }

    private static string Text(Guid id) => id.ToString("D").ToUpperInvariant();

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
