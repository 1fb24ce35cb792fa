using System.Threading.Channels;

namespace Parley.Engine;

/// <summary>
/// Where a follower (<see cref="ConversationClient.FollowAsync"/>) is in the turn it follows: the id of the last event it
/// passed on. Event ids increase strictly within a turn (<see cref="TurnBuffer"/>), so an event at or before the position
/// is one the follower already has — a live event that raced a replay — and is skipped: no chunk twice, none missing.
/// </summary>
/// <param name="lastEventId">The client's <c>Last-Event-ID</c>, or null.</param>
internal sealed class FollowPosition(string? lastEventId)
{
    private bool _known = TurnBuffer.TryParseId(lastEventId, out _, out _);
    private long _sequence = TurnBuffer.TryParseId(lastEventId, out var sequence, out _) ? sequence : 0;
    private long _n = TurnBuffer.TryParseId(lastEventId, out _, out var n) ? n : -1;

    /// <summary>The id of the last event passed on (or the client's), to ask the grain for what follows.</summary>
    public string? LastEventId { get; private set; } = lastEventId;

    /// <summary>False when <paramref name="events"/> belong to another turn than the one followed (a newer turn runs now).</summary>
    public bool IsSameTurn(TurnEvent[] events) =>
        !_known || events.Length == 0 || !TurnBuffer.TryParseId(events[0].EventId, out var sequence, out _) || sequence == _sequence;

    /// <summary>Passes on the events after the position, in order; an event without id gets the id after the position.</summary>
    /// <returns>True when the final event (<see cref="AssistantCompleted"/> or <see cref="TurnFailed"/>) was passed on.</returns>
    public bool Forward(TurnEvent[] events, ChannelWriter<TurnEvent> writer)
    {
        foreach (var turnEvent in events)
        {
            var next = turnEvent;
            if (TurnBuffer.TryParseId(turnEvent.EventId, out var sequence, out var n))
            {
                if (_known && sequence == _sequence && n <= _n)
                {
                    continue;
                }

                (_known, _sequence, _n) = (true, sequence, n);
            }
            else if (_known)
            {
                _n++;
                next = turnEvent with { EventId = TurnBuffer.Id(_sequence, _n) };
            }

            LastEventId = next.EventId ?? LastEventId;
            writer.TryWrite(next);
            if (next is AssistantCompleted or TurnFailed)
            {
                return true;
            }
        }

        return false;
    }
}
