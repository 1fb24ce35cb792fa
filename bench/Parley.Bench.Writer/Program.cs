using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Parley.Engine;
using Parley.Engine.Bots;
using Parley.Engine.Storage;
using Parley.Server.Data;

// The group-commit writer alone: K callers each commit whole turns (user message + reply + charge, as a non-streamed
// echo turn does) to their own 2 conversations, back to back, straight into SqlTurnStore.
//   dotnet bench/Parley.Bench.Writer/bin/Release/net10.0/Parley.Bench.Writer.dll sqlite|"<PostgreSQL connection string>" [users=64] [seconds=20] [clients=64] [writers=0]
// (writers: Engine:CommitWriters, 0 = the database's default)
// Prints one WRITER line: turns/s, the process's CPU and allocation per turn, the mean batch and the writer's busy time per turn.
var target = args.Length > 0 ? args[0] : "sqlite";
var userCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 64;
var seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 20;
var clients = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 64;
var writers = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 0;
var directory = Directory.CreateTempSubdirectory("parley-writer-").FullName;
var onSqlite = target == "sqlite";
System.Data.Common.DbDataSource dataSource;
Func<ParleyDbContext> context;
if (onSqlite)
{
    var connection = new SqliteConnectionStringBuilder { DataSource = Path.Combine(directory, "parley.db"), Pooling = true, DefaultTimeout = 30 }.ToString();
    context = () => new SqliteParleyDbContext(new DbContextOptionsBuilder<SqliteParleyDbContext>().UseSqlite(connection).Options);
    dataSource = SqliteFactory.Instance.CreateDataSource(connection);
}
else
{
    var database = "writer_" + Guid.NewGuid().ToString("N")[..12];
    await using (var admin = NpgsqlDataSource.Create(target))
    await using (var create = admin.CreateCommand($"CREATE DATABASE {database}"))
    {
        await create.ExecuteNonQueryAsync();
    }

    var postgres = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(target) { Database = database }.ToString());
    context = () => new PostgresParleyDbContext(new DbContextOptionsBuilder<PostgresParleyDbContext>().UseNpgsql(postgres).Options);
    dataSource = postgres;
}

var conversations = new List<(Guid Id, Guid User)>();
await using (var db = context())
{
    await db.Database.MigrateAsync();
    if (onSqlite)
    {
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
    }

    var users = Enumerable.Range(0, userCount).Select(i => new User
    {
        Id = Guid.CreateVersion7(), UserName = $"u{i}", NormalizedUserName = $"U{i}", TokenBalance = 1_000_000_000_000, CreatedAt = DateTime.UtcNow,
    }).ToList();
    db.Users.AddRange(users);
    for (var i = 0; i < clients * 2; i++)
    {
        var conversation = new Conversation { Id = Guid.CreateVersion7(), UserId = users[i % clients % userCount].Id, CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow };
        db.Conversations.Add(conversation);
        conversations.Add((conversation.Id, conversation.UserId));
    }

    await db.SaveChangesAsync();
}

var store = new SqlTurnStore(dataSource, onSqlite ? SqlDialect.Sqlite() : SqlDialect.PostgreSql, 256, NullLogger<SqlTurnStore>.Instance, commitWriters: writers);
long turns = 0, refused = 0;
var measuring = false;
using var stop = new CancellationTokenSource();
var callers = Enumerable.Range(0, clients).Select(k => Task.Run(async () =>
{
    var own = new[] { conversations[k], conversations[k + clients] };
    var versions = new long[2];
    var sequences = new long[2];
    for (var n = 0; !stop.IsCancellationRequested; n++)
    {
        var j = n % 2;
        var (conversationId, userId) = own[j];
        var now = DateTime.UtcNow;
        const string Text = "Hello! A short benchmark message";
        var user = new StoredMessage(Guid.CreateVersion7(), conversationId, sequences[j] + 1, MessageRoles.User, Text, MessageStatuses.Completed, null, now, 7, Charge: 100);
        var reply = new StoredMessage(Guid.CreateVersion7(), conversationId, sequences[j] + 2, MessageRoles.Assistant, Text, MessageStatuses.Completed, null, now, 7,
            "echo", FinishReasons.Stop, new TokenUsage(7, 7));
        var outcome = await store.CommitTurnAsync(new AcceptTurn(userId, versions[j], user, 100, "bench", sequences[j] == 0 ? "title" : null), reply, CancellationToken.None);
        if (outcome.Status != AcceptStatus.Accepted)
        {
            Interlocked.Increment(ref refused);
            continue;
        }

        (versions[j], sequences[j]) = (versions[j] + 1, sequences[j] + 2);
        if (Volatile.Read(ref measuring))
        {
            Interlocked.Increment(ref turns);
        }
    }
})).ToArray();

await Task.Delay(TimeSpan.FromSeconds(5)); // warm-up
using var process = Process.GetCurrentProcess();
var (cpu, allocated, batches, operations, busy) = (process.TotalProcessorTime, GC.GetTotalAllocatedBytes(), store.CommitBatches, store.CommitOperations, store.CommitBusyTime);
var clock = Stopwatch.StartNew();
Volatile.Write(ref measuring, true);
await Task.Delay(TimeSpan.FromSeconds(seconds));
Volatile.Write(ref measuring, false);
var elapsed = clock.Elapsed.TotalSeconds;
process.Refresh();
var count = Math.Max(1, Interlocked.Read(ref turns));
var committed = store.CommitOperations - operations;
var cpuPerTurn = (process.TotalProcessorTime - cpu).TotalMicroseconds / count;
var allocPerTurn = (GC.GetTotalAllocatedBytes() - allocated) / 1024.0 / count;
var meanBatch = (double)committed / Math.Max(1, store.CommitBatches - batches);
var busyPerTurn = (store.CommitBusyTime - busy).TotalMicroseconds / Math.Max(1, committed);
var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"WRITER target={(onSqlite ? "sqlite" : "postgresql")} users={userCount} clients={clients} writers={store.CommitWriters} turns_per_s={count / elapsed:F0} cpu_us_per_turn={cpuPerTurn:F1} alloc_kb_per_turn={allocPerTurn:F2} mean_batch={meanBatch:F1} writer_busy_us_per_turn={busyPerTurn:F1} refused={Interlocked.Read(ref refused)} load={load}"));
await stop.CancelAsync();
await Task.WhenAll(callers);
await store.DisposeAsync();
Directory.Delete(directory, recursive: true);
