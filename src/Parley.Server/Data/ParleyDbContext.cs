using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Parley.Server.Data;

/// <summary>A conversation row. Its turn log lives in <see cref="Message"/>.</summary>
public sealed class Conversation
{
    /// <summary>Conversation id (UUID v7).</summary>
    public Guid Id { get; set; }

    /// <summary>The owner.</summary>
    public Guid UserId { get; set; }

    /// <summary>Title; null until given or derived from the first message (at most 200 characters).</summary>
    public string? Title { get; set; }

    /// <summary>Creation time (UTC).</summary>
    public DateTime CreatedAt { get; set; }

    /// <summary>Time of the last message (UTC); conversations are listed newest activity first.</summary>
    public DateTime UpdatedAt { get; set; }

    /// <summary>Optimistic-concurrency version: every turn commit requires the version it read and increments it.</summary>
    public long Version { get; set; }

    /// <summary>Sequence of the newest message; sequences are contiguous from 1, so this is also the message count.</summary>
    public long LastSequence { get; set; }

    /// <summary>The leaf of the branch the user is on (the thread shown and continued); null while empty.</summary>
    public Guid? CurrentMessageId { get; set; }

    /// <summary>Pinned conversations are listed first.</summary>
    public bool Pinned { get; set; }

    /// <summary>Archived conversations are left out of the list unless it asks for them.</summary>
    public bool Archived { get; set; }

    /// <summary>The model that answers (an id of <c>Bot:Models</c>); null for <c>Bot:DefaultModel</c>.</summary>
    public string? Model { get; set; }

    /// <summary>The system prompt; null for <c>Bot:SystemPrompt</c>, empty for none (at most 8,000 characters).</summary>
    public string? SystemPrompt { get; set; }

    /// <summary>While a streamed turn is pending: its reply so far, written every <c>Engine:CheckpointInterval</c> and
    /// cleared when the reply is stored. A crash leaves it for recovery, which stores it as the failed reply.</summary>
    public string? PartialReply { get; set; }

    /// <summary>Turns run the retrieval stage: the top <c>Knowledge:TopK</c> chunks of the owner's documents go into the prompt.</summary>
    public bool UseDocuments { get; set; }
}

/// <summary>
/// A stored message, a node of its conversation's tree (<see cref="ParentId"/>). <c>(ConversationId, Sequence)</c> is
/// unique; so is <c>(ConversationId, ClientMessageId)</c>.
/// </summary>
public sealed class Message
{
    /// <summary>Message id (UUID v7).</summary>
    public Guid Id { get; set; }

    /// <summary>The conversation.</summary>
    public Guid ConversationId { get; set; }

    /// <summary>1-based, contiguous, in the order the conversation's messages were stored.</summary>
    public long Sequence { get; set; }

    /// <summary>The previous message of its branch; null for a first message. Siblings share a parent.</summary>
    public Guid? ParentId { get; set; }

    /// <summary><c>user</c> or <c>assistant</c>.</summary>
    public required string Role { get; set; }

    /// <summary>The text.</summary>
    public required string Content { get; set; }

    /// <summary><c>pending</c>, <c>completed</c>, <c>cancelled</c> or <c>failed</c>.</summary>
    public required string Status { get; set; }

    /// <summary>The client's idempotency key of a user message.</summary>
    public string? ClientMessageId { get; set; }

    /// <summary>While a user message is pending: the node answering it (crash recovery).</summary>
    public string? NodeId { get; set; }

    /// <summary>When it was stored (UTC).</summary>
    public DateTime CreatedAt { get; set; }

    /// <summary>Tokens of <see cref="Content"/> (o200k_base), counted once when stored; 0 for rows older than the count.</summary>
    public int TokenCount { get; set; }

    /// <summary>Assistant messages: the model that wrote it.</summary>
    public string? Model { get; set; }

    /// <summary>Assistant messages: <c>stop</c>, <c>length</c>, <c>cancelled</c> or <c>error</c>.</summary>
    public string? FinishReason { get; set; }

    /// <summary>Assistant messages: prompt tokens of the turn (from the provider, else counted).</summary>
    public int? PromptTokens { get; set; }

    /// <summary>Assistant messages: completion tokens of the turn (from the provider, else counted).</summary>
    public int? CompletionTokens { get; set; }

    /// <summary>User messages: tokens the turn costs the user (reserved at accept, settled when the reply is stored).</summary>
    public long Charge { get; set; }

    /// <summary>Assistant messages: the document chunks its prompt carried, a JSON array <c>[{documentId, title, chunkIndex}]</c>; null when none.</summary>
    public string? Sources { get; set; }
}

/// <summary>Parley's EF Core model. Provider-specific subclasses carry their own migrations.</summary>
public abstract class ParleyDbContext(DbContextOptions options) : IdentityDbContext<User, IdentityRole<Guid>, Guid>(options)
{
    /// <summary>Conversations.</summary>
    public DbSet<Conversation> Conversations => Set<Conversation>();

    /// <summary>Messages.</summary>
    public DbSet<Message> Messages => Set<Message>();

    /// <summary>Login sessions.</summary>
    public DbSet<AuthSession> AuthSessions => Set<AuthSession>();

    /// <summary>Refresh tokens.</summary>
    public DbSet<RefreshToken> RefreshTokens => Set<RefreshToken>();

    /// <summary>The token ledger.</summary>
    public DbSet<TokenTransaction> TokenTransactions => Set<TokenTransaction>();

    /// <summary>Cluster-wide job leases and last runs.</summary>
    public DbSet<JobRun> JobRuns => Set<JobRun>();

    /// <summary>The users' documents (<see cref="Parley.Server.Knowledge.Document"/>).</summary>
    public DbSet<Parley.Server.Knowledge.Document> Documents => Set<Parley.Server.Knowledge.Document>();

    /// <summary>The documents' chunks (<see cref="Parley.Server.Knowledge.DocumentChunk"/>).</summary>
    public DbSet<Parley.Server.Knowledge.DocumentChunk> DocumentChunks => Set<Parley.Server.Knowledge.DocumentChunk>();

    /// <summary>Share links (<see cref="Parley.Server.Sharing.Share"/>).</summary>
    public DbSet<Parley.Server.Sharing.Share> Shares => Set<Parley.Server.Sharing.Share>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);

        // Email is optional but unique when given (NULLs never collide in a unique index).
        builder.Entity<User>().HasIndex(u => u.NormalizedEmail).HasDatabaseName("EmailIndex").IsUnique();
        builder.Entity<User>().Property(u => u.Role).HasMaxLength(16).HasDefaultValue(AccountRoles.User);

        builder.Entity<Conversation>(conversation =>
        {
            conversation.Property(c => c.Title).HasMaxLength(Parley.Server.Conversations.ConversationRules.MaxTitleLength);
            conversation.Property(c => c.Model).HasMaxLength(Parley.Server.Conversations.ConversationRules.MaxModelLength);
            conversation.Property(c => c.SystemPrompt).HasMaxLength(Parley.Server.Conversations.ConversationRules.MaxSystemPromptLength);
            conversation.HasIndex(c => new { c.UserId, c.Archived, c.Pinned, c.UpdatedAt, c.Id }); // list: pinned first, then newest activity
            conversation.HasOne<User>().WithMany().HasForeignKey(c => c.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<Message>(message =>
        {
            message.Property(m => m.Role).HasMaxLength(16);
            message.Property(m => m.Status).HasMaxLength(16);
            message.Property(m => m.ClientMessageId).HasMaxLength(100);
            message.Property(m => m.NodeId).HasMaxLength(100);
            message.Property(m => m.Model).HasMaxLength(Parley.Server.Conversations.ConversationRules.MaxModelLength);
            message.Property(m => m.FinishReason).HasMaxLength(16);
            message.HasIndex(m => new { m.ConversationId, m.Sequence }).IsUnique(); // history pages, context loads
            message.HasIndex(m => new { m.ConversationId, m.ClientMessageId }).IsUnique().HasFilter("\"ClientMessageId\" IS NOT NULL");
            message.HasIndex(m => m.NodeId).HasFilter("\"Status\" = 'pending'"); // crash recovery, no full scan
            message.HasIndex(m => new { m.ConversationId, m.ParentId }); // siblings, descendants
            message.HasOne<Conversation>().WithMany().HasForeignKey(m => m.ConversationId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<AuthSession>(session =>
        {
            session.HasIndex(s => s.RevokedAt);
            session.Property(s => s.UserAgent).HasMaxLength(256);
            session.HasOne<User>().WithMany().HasForeignKey(s => s.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<TokenTransaction>(entry =>
        {
            entry.ToTable("TokenTransactions");
            entry.Property(t => t.Kind).HasMaxLength(16);
            entry.Property(t => t.Reason).HasMaxLength(200);
            entry.HasIndex(t => new { t.UserId, t.Id }); // a user's ledger, newest first
            entry.HasIndex(t => new { t.CreatedAt, t.Kind }); // stats: tokens charged in the last 24 h
            entry.HasOne<User>().WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<JobRun>(job =>
        {
            job.HasKey(j => j.Name);
            job.Property(j => j.Name).HasMaxLength(64);
            job.Property(j => j.LeaseHolder).HasMaxLength(100);
        });

        builder.Entity<RefreshToken>(token =>
        {
            token.Property(t => t.TokenHash).HasMaxLength(64);
            token.HasIndex(t => t.TokenHash).IsUnique();
            token.HasIndex(t => t.SessionId);
            token.HasOne<AuthSession>().WithMany().HasForeignKey(t => t.SessionId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.ApplyConfiguration(new Parley.Server.Sharing.ShareConfiguration());
        builder.ApplyConfiguration<Parley.Server.Knowledge.Document>(new Parley.Server.Knowledge.DocumentConfiguration());
        builder.ApplyConfiguration<Parley.Server.Knowledge.DocumentChunk>(new Parley.Server.Knowledge.DocumentConfiguration());
    }
}

/// <summary>The SQLite model (embedded default); migrations in <c>Data/Migrations/Sqlite</c>.</summary>
public sealed class SqliteParleyDbContext(DbContextOptions<SqliteParleyDbContext> options) : ParleyDbContext(options);

/// <summary>The PostgreSQL model; migrations in <c>Data/Migrations/PostgreSql</c>.</summary>
public sealed class PostgresParleyDbContext(DbContextOptions<PostgresParleyDbContext> options) : ParleyDbContext(options);
