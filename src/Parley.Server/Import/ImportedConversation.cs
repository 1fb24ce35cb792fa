using System.Text.Json;

namespace Parley.Server.Import;

/// <summary>A conversation read from an import file, before it is stored: messages in an order where parents come first.</summary>
/// <param name="Title">The title (null if none).</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="Messages">The messages; <see cref="ImportedMessage.ParentKey"/> names an earlier message or is null.</param>
/// <param name="CurrentKey">The key of the current branch's leaf, or null.</param>
/// <param name="Model">The conversation's model (Parley exports), kept when this server offers it.</param>
/// <param name="SystemPrompt">The conversation's system prompt (Parley exports).</param>
internal sealed record ImportedConversation(
    string? Title, DateTime CreatedAt, List<ImportedMessage> Messages, string? CurrentKey, string? Model = null, string? SystemPrompt = null);

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

        // One pass for the parent links and one depth-first walk from the roots: linear in the nodes, whatever the shape
        // (a file is up to Import:MaxBytes, so a quadratic walk would let one upload hold a core for minutes).
        var children = new Dictionary<string, List<string>>();
        var roots = new List<string>();
        foreach (var (key, node) in nodes)
        {
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty("parent", out var p) && p.ValueKind == JsonValueKind.String
                && p.GetString() is { } parent && nodes.ContainsKey(parent))
            {
                (children.TryGetValue(parent, out var list) ? list : children[parent] = []).Add(key);
            }
            else
            {
                roots.Add(key);
            }
        }

        var messages = new List<ImportedMessage>();
        var nearestKept = new Dictionary<string, string?>(); // node → itself if kept, else its nearest kept ancestor
        var stack = new Stack<(string Key, string? KeptAncestor)>(roots.AsEnumerable().Reverse().Select(k => (k, (string?)null)));
        while (stack.Count > 0)
        {
            var (key, keptAncestor) = stack.Pop();
            if (nearestKept.ContainsKey(key))
            {
                throw new ImportFormatException($"The mapping has a cycle at node '{key}'.");
            }

            var message = ToMessage(key, nodes[key], keptAncestor, created);
            if (message is not null)
            {
                messages.Add(message);
            }

            nearestKept[key] = message?.Key ?? keptAncestor;
            foreach (var child in children.GetValueOrDefault(key, []).AsEnumerable().Reverse())
            {
                stack.Push((child, nearestKept[key]));
            }
        }

        if (nearestKept.Count < nodes.Count)
        {
            // Nodes never reached from a root lie on a cycle of parent links.
            throw new ImportFormatException($"The mapping has a cycle at node '{nodes.Keys.First(k => !nearestKept.ContainsKey(k))}'.");
        }

        var current = conversation.TryGetProperty("current_node", out var c) && c.ValueKind == JsonValueKind.String && nodes.ContainsKey(c.GetString()!)
            ? nearestKept[c.GetString()!] : messages.LastOrDefault()?.Key;
        var title = Property(conversation, "title") is { ValueKind: JsonValueKind.String } t ? t.GetString() : null;
        return new ImportedConversation(title, created, messages, current);
    }

    private static ImportedMessage? ToMessage(string key, JsonElement node, string? parent, DateTime fallbackTime)
    {
        if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var role = Property(Property(message, "author"), "role") is { ValueKind: JsonValueKind.String } r ? r.GetString() : null;
        var metadata = Property(message, "metadata");
        var hidden = Property(metadata, "is_visually_hidden_from_conversation").ValueKind == JsonValueKind.True;
        if (role is not ("user" or "assistant") || hidden)
        {
            return null;
        }

        // Text is in content.parts (strings; images and other objects are left out), or in content.text (code, quotes).
        var content = Property(message, "content");
        var text = Property(content, "parts") is { ValueKind: JsonValueKind.Array } parts
            ? string.Join("\n", parts.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!))
            : Property(content, "text") is { ValueKind: JsonValueKind.String } t ? t.GetString()! : "";
        if (text.Length == 0)
        {
            return null;
        }

        var finished = Property(message, "status") is not { ValueKind: JsonValueKind.String } s || s.GetString() == "finished_successfully";
        var status = role == "assistant" && !finished ? "cancelled" : "completed";
        var model = role == "assistant" && Property(metadata, "model_slug") is { ValueKind: JsonValueKind.String } m ? m.GetString() : null;
        return new ImportedMessage(key, parent, role, text, status, Time(message, "create_time") ?? fallbackTime, model,
            role == "assistant" ? (finished ? "stop" : "cancelled") : null);
    }

    /// <summary>The named property of an object; <c>default</c> (kind Undefined) when absent or when the element is not an object.</summary>
    private static JsonElement Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    private static DateTime? Time(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds)
            && seconds is >= 0 and < 253_402_300_799
            ? DateTime.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond)) : null;
}
