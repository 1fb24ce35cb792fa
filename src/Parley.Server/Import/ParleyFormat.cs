using System.Text.Json;
using Parley.Engine.Bots;
using Parley.Server.Conversations;
using Parley.Server.Data;
using Parley.Server.Export;
using Parley.Server.Infrastructure;

namespace Parley.Server.Import;

/// <summary>Reads a conversation of Parley's own export (<see cref="ExportApi.ConversationFormat"/>).</summary>
internal static class ParleyFormat
{
    public static ImportedConversation Read(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String
            || format.GetString() != ExportApi.ConversationFormat)
        {
            throw new ImportFormatException($"A Parley conversation must have format '{ExportApi.ConversationFormat}'.");
        }

        var export = element.Deserialize(ParleyJsonContext.Default.ConversationExportDto)
            ?? throw new ImportFormatException("The conversation is empty.");
        var messages = new List<ImportedMessage>();
        var seen = new HashSet<string>();
        foreach (var m in (export.Messages ?? []).OrderBy(m => m.Sequence))
        {
            var parent = m.ParentId?.ToString();
            if (m.Role is not ("user" or "assistant") || m.Content is null || (parent is not null && !seen.Contains(parent)) || !seen.Add(m.Id.ToString()))
            {
                throw new ImportFormatException($"Message {m.Id} is not valid: its role must be user or assistant, and its parent an earlier message.");
            }

            messages.Add(new ImportedMessage(m.Id.ToString(), parent, m.Role, m.Content, m.Status ?? "completed", m.CreatedAt.UtcDateTime, m.Model, m.FinishReason));
        }

        var current = export.CurrentMessageId?.ToString();
        if (export.SystemPrompt is { Length: > ConversationRules.MaxSystemPromptLength })
        {
            throw new ImportFormatException($"The system prompt of conversation {export.Id} is longer than {ConversationRules.MaxSystemPromptLength} characters.");
        }

        return new ImportedConversation(export.Title, export.CreatedAt, messages, current is not null && seen.Contains(current) ? current : messages.LastOrDefault()?.Key,
            export.Model, export.SystemPrompt);
    }
}

/// <summary>Adds imported conversations to the context (new ids, sequences in file order, nothing charged).</summary>
internal static class ImportWriter
{
    /// <param name="db">The context the rows are added to (the caller saves them, in one transaction).</param>
    /// <param name="userId">The owner of the new conversations.</param>
    /// <param name="conversations">What the file holds.</param>
    /// <param name="models">The models this server offers: a conversation's model is kept only if it is one of them.</param>
    public static List<Guid> Add(ParleyDbContext db, Guid userId, List<ImportedConversation> conversations, IReadOnlyList<ModelSpec> models)
    {
        var ids = new List<Guid>();
        foreach (var c in conversations)
        {
            var id = Guid.CreateVersion7();
            var keys = new Dictionary<string, Guid>();
            var sequence = 0L;
            foreach (var m in c.Messages)
            {
                if (m.Content.Contains('\0', StringComparison.Ordinal) || c.Title?.Contains('\0', StringComparison.Ordinal) == true)
                {
                    throw new ImportFormatException("The character U+0000 is not allowed in text.");
                }

                var messageId = Guid.CreateVersion7();
                keys[m.Key] = messageId;
                db.Messages.Add(new Message
                {
                    Id = messageId,
                    ConversationId = id,
                    Sequence = ++sequence,
                    ParentId = m.ParentKey is { } parent ? keys[parent] : null,
                    Role = m.Role,
                    Content = m.Content,
                    Status = m.Status is "completed" or "cancelled" or "failed" ? m.Status : "completed",
                    CreatedAt = m.CreatedAt,
                    Model = m.Model is { Length: > ConversationRules.MaxModelLength } model ? model[..ConversationRules.MaxModelLength] : m.Model,
                    FinishReason = m.FinishReason is FinishReasons.Stop or FinishReasons.Length or FinishReasons.Cancelled or FinishReasons.Error ? m.FinishReason : null,
                });
            }

            var title = c.Title is { Length: > ConversationRules.MaxTitleLength } longTitle ? longTitle[..ConversationRules.MaxTitleLength] : c.Title;
            db.Conversations.Add(new Conversation
            {
                Id = id,
                UserId = userId,
                Title = title,
                CreatedAt = c.CreatedAt,
                UpdatedAt = c.Messages.Count > 0 ? c.Messages.Max(m => m.CreatedAt) : c.CreatedAt,
                LastSequence = sequence,
                Model = c.Model is { } chosen && models.Any(m => m.Id == chosen) ? chosen : null,
                SystemPrompt = c.SystemPrompt,
                CurrentMessageId = c.CurrentKey is { } current ? keys[current] : null,
            });
            ids.Add(id);
        }

        return ids;
    }
}
