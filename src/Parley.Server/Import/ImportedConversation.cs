using System.Text.Json;

namespace Parley.Server.Import;

/// <summary>A conversation read from an import file, before it is stored: messages in an order where parents come first.</summary>
/// <param name="Title">The title (null if none).</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="Messages">The messages; <see cref="ImportedMessage.ParentKey"/> names an earlier message or is null.</param>
/// <param name="CurrentKey">The key of the current branch's leaf, or null.</param>
internal sealed record ImportedConversation(string? Title, DateTime CreatedAt, List<ImportedMessage> Messages, string? CurrentKey);

/// <summary>A message read from an import file.</summary>
internal sealed record ImportedMessage(string Key, string? ParentKey, string Role, string Content, string Status, DateTime CreatedAt, string? Model, string? FinishReason);

/// <summary>The file is not one of the accepted formats, or is damaged; the message says why.</summary>
internal sealed class ImportFormatException(string message) : Exception(message);

/// <summary>Reads ChatGPT's <c>conversations.json</c>: an array of conversations, each a <c>mapping</c> of nodes.</summary>
internal static class ChatGptFormat
{
    /// <summary>
    /// Converts one conversation. Nodes without a message (the root), system and tool messages, and messages hidden from
    /// the conversation are left out; their children hang from the nearest kept ancestor. Every branch is kept; the
    /// current branch ends at <c>current_node</c> (or its nearest kept ancestor).
    /// </summary>
    public static ImportedConversation Read(JsonElement conversation)
    {
        if (conversation.ValueKind != JsonValueKind.Object || !conversation.TryGetProperty("mapping", out var mapping) || mapping.ValueKind != JsonValueKind.Object)
        {
            throw new ImportFormatException("A ChatGPT conversation must be an object with a 'mapping'.");
        }

        var created = Time(conversation, "create_time") ?? DateTime.UnixEpoch;
        var nodes = mapping.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        string? Parent(string key) => nodes[key].TryGetProperty("parent", out var p) && p.ValueKind == JsonValueKind.String && nodes.ContainsKey(p.GetString()!) ? p.GetString() : null;
        var kept = new Dictionary<string, ImportedMessage>();
        string? KeptAncestor(string? key)
        {
            for (var guard = 0; key is not null && guard <= nodes.Count; guard++, key = Parent(key))
            {
                if (kept.ContainsKey(key))
                {
                    return key;
                }
            }

            return null;
        }

        var messages = new List<ImportedMessage>();
        var visited = new HashSet<string>();
        var stack = new Stack<string>(nodes.Keys.Where(k => Parent(k) is null).Reverse());
        while (stack.Count > 0)
        {
            var key = stack.Pop();
            if (!visited.Add(key))
            {
                throw new ImportFormatException($"The mapping has a cycle at node '{key}'.");
            }

            if (ToMessage(key, nodes[key], KeptAncestor(Parent(key)), created) is { } message)
            {
                kept[key] = message;
                messages.Add(message);
            }

            foreach (var child in nodes.Keys.Where(k => Parent(k) == key).Reverse())
            {
                stack.Push(child);
            }
        }

        var current = conversation.TryGetProperty("current_node", out var c) && c.ValueKind == JsonValueKind.String && nodes.ContainsKey(c.GetString()!)
            ? KeptAncestor(c.GetString()) : messages.LastOrDefault()?.Key;
        var title = conversation.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        return new ImportedConversation(title, created, messages, current);
    }

    private static ImportedMessage? ToMessage(string key, JsonElement node, string? parent, DateTime fallbackTime)
    {
        if (!node.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var role = message.TryGetProperty("author", out var author) && author.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        var metadata = message.TryGetProperty("metadata", out var meta) ? meta : default;
        var hidden = metadata.ValueKind == JsonValueKind.Object
            && metadata.TryGetProperty("is_visually_hidden_from_conversation", out var h) && h.ValueKind == JsonValueKind.True;
        if (role is not ("user" or "assistant") || hidden)
        {
            return null;
        }

        var parts = message.TryGetProperty("content", out var content) && content.TryGetProperty("parts", out var p) && p.ValueKind == JsonValueKind.Array
            ? p.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!) : [];
        var text = string.Join("\n", parts);
        if (text.Length == 0)
        {
            return null;
        }

        var finished = !message.TryGetProperty("status", out var s) || s.ValueKind != JsonValueKind.String || s.GetString() == "finished_successfully";
        var status = role == "assistant" && !finished ? "cancelled" : "completed";
        var model = role == "assistant" && metadata.ValueKind == JsonValueKind.Object && metadata.TryGetProperty("model_slug", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        return new ImportedMessage(key, parent, role, text, status, Time(message, "create_time") ?? fallbackTime, model,
            role == "assistant" ? (finished ? "stop" : "cancelled") : null);
    }

    private static DateTime? Time(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds)
            && seconds is >= 0 and < 253_402_300_799
            ? DateTime.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond)) : null;
}
