using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Parley.Server.Data;

/// <summary>A Parley account: an ASP.NET Core Identity user with a token balance.</summary>
public sealed class User : IdentityUser<Guid>
{
    /// <summary>Tokens left; each accepted message costs <c>Quota:CostPerMessage</c>. Changed only by atomic SQL updates.</summary>
    public long TokenBalance { get; set; }

    /// <summary>When the account was created (UTC).</summary>
    public DateTime CreatedAt { get; set; }
}

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

    /// <summary>The model that answers (an id of <c>Bot:Models</c>); null for <c>Bot:DefaultModel</c>.</summary>
    public string? Model { get; set; }

    /// <summary>The system prompt; null for <c>Bot:SystemPrompt</c>, empty for none (at most 8,000 characters).</summary>
    public string? SystemPrompt { get; set; }

    /// <summary>While a streamed turn is pending: its reply so far, written every <c>Engine:CheckpointInterval</c> and
    /// cleared when the reply is stored. A crash leaves it for recovery, which stores it as the failed reply.</summary>
    public string? PartialReply { get; set; }
}

/// <summary>A stored message. <c>(ConversationId, Sequence)</c> is unique; so is <c>(ConversationId, ClientMessageId)</c>.</summary>
public sealed class Message
{
    /// <summary>Message id (UUID v7).</summary>
    public Guid Id { get; set; }

    /// <summary>The conversation.</summary>
    public Guid ConversationId { get; set; }

    /// <summary>1-based position in the conversation.</summary>
    public long Sequence { get; set; }

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
}

/// <summary>A login session: the family of its rotating refresh tokens and the <c>sid</c> claim of its access tokens.</summary>
public sealed class AuthSession
{
    /// <summary>Session id, carried in access tokens as the <c>sid</c> claim.</summary>
    public Guid Id { get; set; }

    /// <summary>The user.</summary>
    public Guid UserId { get; set; }

    /// <summary>Login time (UTC).</summary>
    public DateTime CreatedAt { get; set; }

    /// <summary>When logout or refresh-token reuse ended the session (UTC); its access tokens stop working then.</summary>
    public DateTime? RevokedAt { get; set; }
}

/// <summary>A refresh token, stored as the SHA-256 of its value (the value itself is never stored).</summary>
public sealed class RefreshToken
{
    /// <summary>Row id.</summary>
    public Guid Id { get; set; }

    /// <summary>The session (token family).</summary>
    public Guid SessionId { get; set; }

    /// <summary>The user.</summary>
    public Guid UserId { get; set; }

    /// <summary>Base64url SHA-256 of the token value.</summary>
    public required string TokenHash { get; set; }

    /// <summary>Expiry (UTC).</summary>
    public DateTime ExpiresAt { get; set; }

    /// <summary>When it was exchanged for a new pair (rotation); presenting it again revokes the session.</summary>
    public DateTime? UsedAt { get; set; }
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

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);

        // Email is optional but unique when given (NULLs never collide in a unique index).
        builder.Entity<User>().HasIndex(u => u.NormalizedEmail).HasDatabaseName("EmailIndex").IsUnique();

        builder.Entity<Conversation>(conversation =>
        {
            conversation.Property(c => c.Title).HasMaxLength(200);
            conversation.Property(c => c.Model).HasMaxLength(100);
            conversation.Property(c => c.SystemPrompt).HasMaxLength(8000);
            conversation.HasIndex(c => new { c.UserId, c.UpdatedAt, c.Id }); // list: newest activity first
            conversation.HasOne<User>().WithMany().HasForeignKey(c => c.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<Message>(message =>
        {
            message.Property(m => m.Role).HasMaxLength(16);
            message.Property(m => m.Status).HasMaxLength(16);
            message.Property(m => m.ClientMessageId).HasMaxLength(100);
            message.Property(m => m.NodeId).HasMaxLength(100);
            message.Property(m => m.Model).HasMaxLength(100);
            message.Property(m => m.FinishReason).HasMaxLength(16);
            message.HasIndex(m => new { m.ConversationId, m.Sequence }).IsUnique(); // history pages, context loads
            message.HasIndex(m => new { m.ConversationId, m.ClientMessageId }).IsUnique().HasFilter("\"ClientMessageId\" IS NOT NULL");
            message.HasIndex(m => m.NodeId).HasFilter("\"Status\" = 'pending'"); // crash recovery, no full scan
            message.HasOne<Conversation>().WithMany().HasForeignKey(m => m.ConversationId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<AuthSession>(session =>
        {
            session.HasIndex(s => s.RevokedAt);
            session.HasOne<User>().WithMany().HasForeignKey(s => s.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<RefreshToken>(token =>
        {
            token.Property(t => t.TokenHash).HasMaxLength(64);
            token.HasIndex(t => t.TokenHash).IsUnique();
            token.HasIndex(t => t.SessionId);
            token.HasOne<AuthSession>().WithMany().HasForeignKey(t => t.SessionId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}

/// <summary>The SQLite model (embedded default); migrations in <c>Data/Migrations/Sqlite</c>.</summary>
public sealed class SqliteParleyDbContext(DbContextOptions<SqliteParleyDbContext> options) : ParleyDbContext(options);

/// <summary>The PostgreSQL model; migrations in <c>Data/Migrations/PostgreSql</c>.</summary>
public sealed class PostgresParleyDbContext(DbContextOptions<PostgresParleyDbContext> options) : ParleyDbContext(options);
