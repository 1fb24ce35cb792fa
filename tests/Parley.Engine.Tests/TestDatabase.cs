using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Engine;
using Parley.Engine.Storage;
using Parley.Server.Data;

namespace Parley.Engine.Tests;

/// <summary>A real SQLite database in a temp directory, migrated with the server's EF Core model, and engines over it.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("parley-engine-").FullName;
    private readonly List<IAsyncDisposable> _stores = [];

    public string ConnectionString => new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory, "parley.db"), Pooling = true, DefaultTimeout = 30 }.ToString();

    public static async Task<TestDatabase> CreateAsync()
    {
        var database = new TestDatabase();
        await using var db = database.Context();
        await db.Database.MigrateAsync();
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
        return database;
    }

    public SqliteParleyDbContext Context() =>
        new(new DbContextOptionsBuilder<SqliteParleyDbContext>().UseSqlite(ConnectionString).Options);

    public SqlTurnStore Store()
    {
        var store = new SqlTurnStore(SqliteFactory.Instance.CreateDataSource(ConnectionString), SqlDialect.Sqlite(), 256, NullLogger<SqlTurnStore>.Instance);
        _stores.Add(store);
        return store;
    }

    /// <summary>A single-node engine over this database: a silo of its own (free ports) hosting the conversation grains.</summary>
    public Task<TestEngine> EngineAsync(IChatClient? bot = null, Action<EngineOptions>? configure = null, ITurnStore? store = null, TimeProvider? time = null)
    {
        var options = new EngineOptions { NodeId = "test-node" };
        configure?.Invoke(options);
        return TestEngine.StartAsync(store ?? Store(), bot ?? new EchoChatClient(), options, time ?? TimeProvider.System);
    }

    public async Task<Guid> AddUserAsync(long balance = 4_000)
    {
        await using var db = Context();
        var user = new User { Id = Guid.CreateVersion7(), UserName = "u" + Guid.NewGuid().ToString("N")[..12], TokenBalance = balance, CreatedAt = DateTime.UtcNow };
        user.NormalizedUserName = user.UserName!.ToUpperInvariant();
        db.Users.Add(user);
        await db.SaveChangesAsync();
        return user.Id;
    }

    public async Task<Guid> AddConversationAsync(Guid userId)
    {
        await using var db = Context();
        var now = DateTime.UtcNow;
        var conversation = new Conversation { Id = Guid.CreateVersion7(), UserId = userId, CreatedAt = now, UpdatedAt = now };
        db.Conversations.Add(conversation);
        await db.SaveChangesAsync();
        return conversation.Id;
    }

    public async Task<List<Message>> MessagesAsync(Guid conversationId)
    {
        await using var db = Context();
        return await db.Messages.AsNoTracking().Where(m => m.ConversationId == conversationId).OrderBy(m => m.Sequence).ToListAsync();
    }

    public async Task<long> BalanceAsync(Guid userId)
    {
        await using var db = Context();
        return await db.Users.Where(u => u.Id == userId).Select(u => u.TokenBalance).SingleAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Bots for tests: records what it saw, can be held at a gate, can fail.</summary>
public sealed class ScriptedBot : IChatClient
{
    private readonly Func<IReadOnlyList<ChatMessage>, CancellationToken, Task>? _before;

    public ScriptedBot(Func<IReadOnlyList<ChatMessage>, CancellationToken, Task>? before = null) => _before = before;

    public List<IReadOnlyList<ChatMessage>> Seen { get; } = [];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var history = messages.ToList();
        lock (Seen)
        {
            Seen.Add(history);
        }

        var text = history[^1].Text;
        yield return new ChatResponseUpdate(ChatRole.Assistant, text[..(text.Length / 2)]);
        if (_before is not null)
        {
            await _before(history, cancellationToken);
        }

        yield return new ChatResponseUpdate(ChatRole.Assistant, text[(text.Length / 2)..]);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
