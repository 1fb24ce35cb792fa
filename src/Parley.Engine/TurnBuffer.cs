using System.Globalization;
using System.Text;

namespace Parley.Engine;

/// <summary>
/// The events of a running turn, kept by its <see cref="ConversationGrain"/> from the moment its user message is stored
/// until the turn ends, so that a client that reconnects (or another tab) can replay them and follow the rest.
/// </summary>
/// <remarks>
/// <para>Event ids are <c>{userMessageSequence}.{n}</c>, where <c>n</c> is the number of characters (UTF-16 code units)
/// of the reply sent up to the end of the event: 0 for the <see cref="UserMessageStored"/> event, the reply's length so far
/// for an <see cref="AssistantDelta"/>, and the full length plus one for the final event. Ids therefore increase strictly
/// (empty deltas are not kept), and an id alone says exactly which text the client already has: a replay after any id is
/// exact, whatever was coalesced.</para>
/// <para>Memory: the reply text (2 bytes a character) plus 4 bytes per chunk boundary kept. When that passes
/// <see cref="EngineOptions.StreamBufferBytes"/> the older half of the boundaries is dropped, so those chunks replay as
/// one delta; the text is never dropped (it is bounded by the model's maximum output).</para>
/// <para>Not thread-safe: used by its grain only (one call at a time, interleaving only at awaits).</para>
/// </remarks>
public sealed class TurnBuffer
{
    private readonly StringBuilder _text = new();
    private readonly List<int> _ends = [];
    private readonly int _maxBytes;
    private int _coalescedEnd;

    /// <summary>Starts the buffer of the turn whose user message was just stored.</summary>
    /// <param name="stored">The turn's first event.</param>
    /// <param name="maxBytes">See <see cref="EngineOptions.StreamBufferBytes"/>.</param>
    public TurnBuffer(UserMessageStored stored, int maxBytes)
    {
        Sequence = stored.Message.Sequence;
        User = stored with { EventId = Id(Sequence, 0) };
        _maxBytes = maxBytes;
    }

    /// <summary>The sequence of the turn's user message (the first part of its event ids).</summary>
    public long Sequence { get; }

    /// <summary>The turn's first event, with its id.</summary>
    public UserMessageStored User { get; }

    /// <summary>The turn's last event (<see cref="AssistantCompleted"/> or <see cref="TurnFailed"/>) once it ended.</summary>
    public TurnEvent? Final { get; private set; }

    /// <summary>Characters of reply text received so far.</summary>
    public int TextLength => _text.Length;

    /// <summary>Chunk boundaries kept (chunks that replay as separate deltas).</summary>
    public int ChunksKept => _ends.Count;

    /// <summary>What the buffer's contents cost, in bytes: the text at 2 bytes a character plus 4 per kept boundary (object headers and spare capacity not counted).</summary>
    public long ContentBytes => (_text.Length * 2L) + (_ends.Count * 4L);

    /// <summary>Formats an event id.</summary>
    /// <param name="sequence">The user message's sequence.</param>
    /// <param name="n">Characters of reply up to the end of the event.</param>
    public static string Id(long sequence, long n) => string.Create(CultureInfo.InvariantCulture, $"{sequence}.{n}");

    /// <summary>Parses an event id made by <see cref="Id"/>.</summary>
    /// <returns>False when <paramref name="value"/> is not of the form <c>{sequence}.{n}</c> with non-negative integers.</returns>
    public static bool TryParseId(string? value, out long sequence, out long n)
    {
        (sequence, n) = (0, 0);
        var dot = value?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        return dot > 0
            && long.TryParse(value.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out sequence)
            && long.TryParse(value.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out n);
    }

    /// <summary>Adds a chunk of the reply.</summary>
    /// <returns>The delta with its id; null for an empty chunk (not kept, not sent).</returns>
    public AssistantDelta? Append(string text)
    {
        if (text.Length == 0)
        {
            return null;
        }

        _text.Append(text);
        _ends.Add(_text.Length);
        if (ContentBytes > _maxBytes && _ends.Count > 1)
        {
            var half = _ends.Count / 2;
            _coalescedEnd = _ends[half - 1];
            _ends.RemoveRange(0, half);
        }

        return new AssistantDelta(text) { EventId = Id(Sequence, _text.Length) };
    }

    /// <summary>Records the turn's last event.</summary>
    /// <returns>The event with its id.</returns>
    public TurnEvent Complete(TurnEvent final)
    {
        Final = final with { EventId = Id(Sequence, _text.Length + 1L) };
        return Final;
    }

    /// <summary>The events a client that has seen up to <paramref name="lastEventId"/> is missing, in order.</summary>
    /// <param name="lastEventId">The last event id the client received; null, or an id of another turn: replay from the start.</param>
    public List<TurnEvent> Replay(string? lastEventId)
    {
        var events = new List<TurnEvent>();
        long after;
        if (TryParseId(lastEventId, out var sequence, out var n) && sequence == Sequence)
        {
            after = n;
        }
        else
        {
            events.Add(User);
            after = 0;
        }

        if (after > _text.Length)
        {
            return events; // past the text: the client has the final event
        }

        var from = (int)after;
        if (from < _coalescedEnd)
        {
            events.Add(Delta(from, _coalescedEnd));
            from = _coalescedEnd;
        }

        foreach (var end in _ends)
        {
            if (end > from)
            {
                events.Add(Delta(from, end));
                from = end;
            }
        }

        if (Final is not null)
        {
            events.Add(Final);
        }

        return events;
    }

    private AssistantDelta Delta(int start, int end) =>
        new(_text.ToString(start, end - start)) { EventId = Id(Sequence, end) };
}
