using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Parley.Bench.Seeding;

/// <summary>
/// Seeds the <c>search</c> scenario's data straight into the server's database: users (the searching users registered
/// through the API, the others inserted as rows that cannot log in), <c>conversations</c> per user with a title, and
/// <c>messages</c> per conversation (one branch, alternating user/assistant, completed), conversations in a random order
/// so one user's messages are spread over the whole table as in real life. The rows go through the tables' own triggers
/// and generated columns, so the full-text indexes are the ones the server keeps. SQLite: prepared inserts in one
/// transaction into the stopped server's file; PostgreSQL: binary <c>COPY</c> (generated columns are computed by COPY).
/// </summary>
internal static class SearchSeeder
{
    private const string TimeFormat = "yyyy-MM-dd HH:mm:ss.FFFFFFF";

    /// <summary>The shape of the data.</summary>
    public sealed record Shape(int Users, int ConversationsPerUser, int MessagesPerConversation);

    /// <summary>
    /// Seeds <paramref name="shape"/>; users 0…n-1 of it are <paramref name="searchers"/> (already registered), the rest
    /// are inserted. Returns, per searcher, the rarest word (highest Zipf rank) in its messages.
    /// </summary>
    public static string[] Seed(ISink sink, SearchCorpus corpus, Shape shape, IReadOnlyList<Guid> searchers, Action<long>? progress = null)
    {
        var random = new Random(1_000_003);
        var owners = new Guid[shape.Users];
        for (var u = 0; u < shape.Users; u++)
        {
            owners[u] = u < searchers.Count ? searchers[u] : Guid.NewGuid();
            if (u >= searchers.Count)
            {
                sink.AddUser(owners[u], $"search-filler-{owners[u]:N}");
            }
        }

        var order = new int[shape.Users * shape.ConversationsPerUser];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i % shape.Users;
        }

        random.Shuffle(order);
        var rarest = new int[searchers.Count];
        var time = DateTime.UtcNow.AddDays(-60);
        var step = TimeSpan.FromDays(59) / Math.Max(1, order.Length);
        var messageIds = new Guid[shape.MessagesPerConversation];
        long written = 0;
        foreach (var owner in order)
        {
            time += step;
            var conversation = Guid.CreateVersion7(new DateTimeOffset(time));
            for (var s = 0; s < messageIds.Length; s++)
            {
                messageIds[s] = Guid.CreateVersion7(new DateTimeOffset(time.AddMilliseconds(s + 1)));
            }

            var last = messageIds.Length > 0 ? messageIds[^1] : (Guid?)null;
            sink.AddConversation(conversation, owners[owner], corpus.Title(random), time, time.AddMilliseconds(messageIds.Length), messageIds.Length, last);
            for (var s = 0; s < messageIds.Length; s++)
            {
                var user = s % 2 == 0;
                var content = corpus.Message(random, user ? random.Next(6, 26) : random.Next(15, 61), out var rare);
                if (owner < rarest.Length)
                {
                    rarest[owner] = Math.Max(rarest[owner], rare);
                }

                sink.AddMessage(messageIds[s], conversation, s + 1, user ? "user" : "assistant", content,
                    time.AddMilliseconds(s + 1), s == 0 ? null : messageIds[s - 1]);
            }

            written += messageIds.Length;
            if (written % 50_000 < messageIds.Length)
            {
                progress?.Invoke(written);
            }
        }

        sink.Complete();
        return [.. rarest.Select(corpus.Word)];
    }

    /// <summary>Where the rows go.</summary>
    internal interface ISink : IDisposable
    {
        void AddUser(Guid id, string userName);

        void AddConversation(Guid id, Guid userId, string title, DateTime created, DateTime updated, long lastSequence, Guid? currentMessageId);

        void AddMessage(Guid id, Guid conversationId, long sequence, string role, string content, DateTime created, Guid? parentId);

        void Complete();
    }

    /// <summary>A stopped server's SQLite file: prepared inserts, one transaction, then a checkpoint.</summary>
    internal sealed class SqliteSink : ISink
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteTransaction _transaction;
        private readonly SqliteCommand _user;
        private readonly SqliteCommand _conversation;
        private readonly SqliteCommand _message;

        public SqliteSink(string databasePath)
        {
            _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
            _connection.Open();
            Execute("PRAGMA synchronous=OFF;");
            _transaction = _connection.BeginTransaction();
            _user = Prepare(
                "INSERT INTO \"AspNetUsers\" (\"Id\", \"UserName\", \"NormalizedUserName\", \"AccessFailedCount\", \"CreatedAt\", \"Disabled\", \"EmailConfirmed\", " +
                "\"LockoutEnabled\", \"PhoneNumberConfirmed\", \"Role\", \"TokenBalance\", \"TwoFactorEnabled\") " +
                "VALUES ($p0, $p1, upper($p1), 0, $p2, 0, 0, 0, 0, 'user', 0, 0)", 3);
            _conversation = Prepare(
                "INSERT INTO \"Conversations\" (\"Id\", \"UserId\", \"Title\", \"CreatedAt\", \"UpdatedAt\", \"Version\", \"LastSequence\", \"CurrentMessageId\", \"Archived\", \"Pinned\") " +
                "VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p5, $p6, 0, 0)", 7);
            _message = Prepare(
                "INSERT INTO \"Messages\" (\"Id\", \"ConversationId\", \"Sequence\", \"Role\", \"Content\", \"Status\", \"CreatedAt\", \"ParentId\") " +
                "VALUES ($p0, $p1, $p2, $p3, $p4, 'completed', $p5, $p6)", 7);
        }

        public void AddUser(Guid id, string userName) => Run(_user, Text(id), userName, Time(DateTime.UtcNow));

        public void AddConversation(Guid id, Guid userId, string title, DateTime created, DateTime updated, long lastSequence, Guid? currentMessageId) =>
            Run(_conversation, Text(id), Text(userId), title, Time(created), Time(updated), lastSequence, currentMessageId is { } current ? Text(current) : DBNull.Value);

        public void AddMessage(Guid id, Guid conversationId, long sequence, string role, string content, DateTime created, Guid? parentId) =>
            Run(_message, Text(id), Text(conversationId), sequence, role, content, Time(created), parentId is { } parent ? Text(parent) : DBNull.Value);

        public void Complete()
        {
            _transaction.Commit();
            Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        }

        public void Dispose()
        {
            _user.Dispose();
            _conversation.Dispose();
            _message.Dispose();
            _transaction.Dispose();
            _connection.Dispose();
        }

        private static string Text(Guid id) => id.ToString("D").ToUpperInvariant();

        private static string Time(DateTime time) => time.ToString(TimeFormat, CultureInfo.InvariantCulture);

        private static void Run(SqliteCommand command, params object[] values)
        {
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i];
            }

            command.ExecuteNonQuery();
        }

        private SqliteCommand Prepare(string sql, int parameters)
        {
            var command = _connection.CreateCommand();
            command.Transaction = _transaction;
            command.CommandText = sql;
            for (var i = 0; i < parameters; i++)
            {
                command.Parameters.Add(new SqliteParameter("$p" + i.ToString(CultureInfo.InvariantCulture), null));
            }

            return command;
        }

        private void Execute(string sql)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// A PostgreSQL database, on one connection: the users, then the conversations (kept in memory) and the messages
    /// (spooled to a temporary file) through binary COPY, in that order so every message's conversation exists. Then
    /// <c>ANALYZE</c>.
    /// </summary>
    internal sealed class PostgreSqlSink : ISink
    {
        private readonly NpgsqlConnection _connection;
        private readonly NpgsqlBinaryImporter _users;
        private readonly List<(Guid Id, Guid UserId, string Title, DateTime Created, DateTime Updated, long Last, Guid? Current)> _conversations = [];
        private readonly string _messagesFile = Path.GetTempFileName();
        private readonly BinaryWriter _messages;
        private long _messageCount;

        public PostgreSqlSink(string connectionString)
        {
            _connection = new NpgsqlConnection(connectionString);
            _connection.Open();
            _users = _connection.BeginBinaryImport(
                "COPY \"AspNetUsers\" (\"Id\", \"UserName\", \"NormalizedUserName\", \"AccessFailedCount\", \"CreatedAt\", \"Disabled\", \"EmailConfirmed\", " +
                "\"LockoutEnabled\", \"PhoneNumberConfirmed\", \"Role\", \"TokenBalance\", \"TwoFactorEnabled\") FROM STDIN (FORMAT BINARY)");
            _messages = new BinaryWriter(File.Create(_messagesFile));
        }

        public void AddUser(Guid id, string userName)
        {
            _users.StartRow();
            _users.Write(id, NpgsqlDbType.Uuid);
            _users.Write(userName, NpgsqlDbType.Varchar);
            _users.Write(userName.ToUpperInvariant(), NpgsqlDbType.Varchar);
            _users.Write(0, NpgsqlDbType.Integer);
            _users.Write(DateTime.UtcNow, NpgsqlDbType.TimestampTz);
            _users.Write(false, NpgsqlDbType.Boolean);
            _users.Write(false, NpgsqlDbType.Boolean);
            _users.Write(false, NpgsqlDbType.Boolean);
            _users.Write(false, NpgsqlDbType.Boolean);
            _users.Write("user", NpgsqlDbType.Varchar);
            _users.Write(0L, NpgsqlDbType.Bigint);
            _users.Write(false, NpgsqlDbType.Boolean);
        }

        public void AddConversation(Guid id, Guid userId, string title, DateTime created, DateTime updated, long lastSequence, Guid? currentMessageId) =>
            _conversations.Add((id, userId, title, created, updated, lastSequence, currentMessageId));

        // Messages are spooled to a temporary file (1,000,000 of them do not fit comfortably in the benchmark's memory).
        public void AddMessage(Guid id, Guid conversationId, long sequence, string role, string content, DateTime created, Guid? parentId)
        {
            _messages.Write(id.ToByteArray());
            _messages.Write(conversationId.ToByteArray());
            _messages.Write(sequence);
            _messages.Write(role);
            _messages.Write(content);
            _messages.Write(created.Ticks);
            _messages.Write(parentId is { } parent ? parent.ToByteArray() : new byte[16]);
            _messageCount++;
        }

        public void Complete()
        {
            _users.Complete();
            _users.Dispose();
            using (var conversations = _connection.BeginBinaryImport(
                "COPY \"Conversations\" (\"Id\", \"UserId\", \"Title\", \"CreatedAt\", \"UpdatedAt\", \"Version\", \"LastSequence\", \"CurrentMessageId\", \"Archived\", \"Pinned\") FROM STDIN (FORMAT BINARY)"))
            {
                foreach (var c in _conversations)
                {
                    conversations.StartRow();
                    conversations.Write(c.Id, NpgsqlDbType.Uuid);
                    conversations.Write(c.UserId, NpgsqlDbType.Uuid);
                    conversations.Write(c.Title, NpgsqlDbType.Varchar);
                    conversations.Write(c.Created, NpgsqlDbType.TimestampTz);
                    conversations.Write(c.Updated, NpgsqlDbType.TimestampTz);
                    conversations.Write(c.Last, NpgsqlDbType.Bigint);
                    conversations.Write(c.Last, NpgsqlDbType.Bigint);
                    if (c.Current is { } current)
                    {
                        conversations.Write(current, NpgsqlDbType.Uuid);
                    }
                    else
                    {
                        conversations.WriteNull();
                    }

                    conversations.Write(false, NpgsqlDbType.Boolean);
                    conversations.Write(false, NpgsqlDbType.Boolean);
                }

                conversations.Complete();
            }

            _messages.Flush();
            _messages.BaseStream.Position = 0;
            using (var reader = new BinaryReader(_messages.BaseStream, System.Text.Encoding.UTF8, leaveOpen: true))
            using (var messages = _connection.BeginBinaryImport(
                "COPY \"Messages\" (\"Id\", \"ConversationId\", \"Sequence\", \"Role\", \"Content\", \"Status\", \"CreatedAt\", \"ParentId\") FROM STDIN (FORMAT BINARY)"))
            {
                for (long i = 0; i < _messageCount; i++)
                {
                    messages.StartRow();
                    messages.Write(new Guid(reader.ReadBytes(16)), NpgsqlDbType.Uuid);
                    messages.Write(new Guid(reader.ReadBytes(16)), NpgsqlDbType.Uuid);
                    messages.Write(reader.ReadInt64(), NpgsqlDbType.Bigint);
                    messages.Write(reader.ReadString(), NpgsqlDbType.Varchar);
                    messages.Write(reader.ReadString(), NpgsqlDbType.Text);
                    messages.Write("completed", NpgsqlDbType.Varchar);
                    messages.Write(new DateTime(reader.ReadInt64(), DateTimeKind.Utc), NpgsqlDbType.TimestampTz);
                    var parent = new Guid(reader.ReadBytes(16));
                    if (parent == Guid.Empty)
                    {
                        messages.WriteNull();
                    }
                    else
                    {
                        messages.Write(parent, NpgsqlDbType.Uuid);
                    }
                }

                messages.Complete();
            }

            using var analyze = new NpgsqlCommand("ANALYZE \"Messages\"; ANALYZE \"Conversations\";", _connection);
            analyze.CommandTimeout = 600;
            analyze.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _messages.Dispose();
            File.Delete(_messagesFile);
            _connection.Dispose();
        }
    }
}
