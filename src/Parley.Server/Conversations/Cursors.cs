using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Parley.Server.Conversations;

/// <summary>The opaque keyset cursors of the conversation and message lists (base64url of a short text).</summary>
internal static class Cursors
{
    /// <summary>The cursor after a conversation of the list (ordered pinned first, then by update time, then id, descending).</summary>
    public static string Conversation(bool pinned, DateTime updatedAt, Guid id) => Encode($"{(pinned ? 1 : 0)}:{updatedAt.Ticks}:{id}");

    /// <summary>The cursor after the message at <paramref name="sequence"/>; <paramref name="backward"/> pages to older ones.</summary>
    public static string Message(bool backward, long sequence) => Encode(backward ? $"b:{sequence}" : $"a:{sequence}");

    /// <summary>Reads a conversation-list cursor; false when it is not one.</summary>
    public static bool TryDecodeConversation(string cursor, out bool pinned, out DateTime updatedAt, out Guid id)
    {
        (pinned, updatedAt, id) = (false, default, default);
        if (!TryDecode(cursor, out var value) || value.Split(':') is not [var pin and ("0" or "1"), var ticks, var guid]
            || !long.TryParse(ticks, NumberStyles.None, CultureInfo.InvariantCulture, out var t)
            || t < DateTime.MinValue.Ticks || t > DateTime.MaxValue.Ticks || !Guid.TryParse(guid, out id))
        {
            return false;
        }

        (pinned, updatedAt) = (pin == "1", new DateTime(t, DateTimeKind.Utc));
        return true;
    }

    /// <summary>Reads a message-list cursor; false when it is not one.</summary>
    public static bool TryDecodeMessage(string cursor, out bool backward, out long sequence)
    {
        (backward, sequence) = (false, 0);
        if (!TryDecode(cursor, out var value) || value.Length < 3 || value[1] != ':' || value[0] is not ('a' or 'b')
            || !long.TryParse(value.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out sequence))
        {
            return false;
        }

        backward = value[0] == 'b';
        return true;
    }

    private static string Encode(string value) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(value));

    private static bool TryDecode(string cursor, out string value)
    {
        value = "";
        if (cursor.Length > 200)
        {
            return false;
        }

        try
        {
            value = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
