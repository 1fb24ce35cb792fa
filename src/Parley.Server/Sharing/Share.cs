using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Parley.Server.Data;

namespace Parley.Server.Sharing;

/// <summary>
/// A share link: a read-only snapshot of a conversation's current branch, taken when the link was made (later turns do
/// not appear), readable by anyone who has its id. Deleting the link, the conversation or the user removes it.
/// </summary>
public sealed class Share
{
    /// <summary>The link's id: 144 random bits (<see cref="RandomNumberGenerator"/>), base64url, 24 characters; unguessable.</summary>
    public required string Id { get; set; }

    /// <summary>The owner.</summary>
    public Guid UserId { get; set; }

    /// <summary>The conversation it was taken from.</summary>
    public Guid ConversationId { get; set; }

    /// <summary>The conversation's title at the time of the snapshot.</summary>
    public string? Title { get; set; }

    /// <summary>The snapshot: the branch's messages as a JSON array of <see cref="SharedMessageDto"/>.</summary>
    public required string Messages { get; set; }

    /// <summary>When the link was made (UTC).</summary>
    public DateTime CreatedAt { get; set; }

    /// <summary>A new link id: 18 random bytes (144 bits), base64url.</summary>
    public static string NewId() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(18));
}

/// <summary>The table of <see cref="Share"/>: owner's list index, cascades from the user and the conversation.</summary>
public sealed class ShareConfiguration : IEntityTypeConfiguration<Share>
{
    /// <inheritdoc />
    public void Configure(EntityTypeBuilder<Share> share)
    {
        share.Property(s => s.Id).HasMaxLength(32);
        share.Property(s => s.Title).HasMaxLength(Parley.Server.Conversations.ConversationRules.MaxTitleLength);
        share.HasIndex(s => new { s.UserId, s.CreatedAt });
        share.HasOne<User>().WithMany().HasForeignKey(s => s.UserId).OnDelete(DeleteBehavior.Cascade);
        share.HasOne<Conversation>().WithMany().HasForeignKey(s => s.ConversationId).OnDelete(DeleteBehavior.Cascade);
    }
}
