using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Parley.Engine;

/// <summary>
/// One follower of a running turn (<see cref="ConversationClient.FollowAsync"/>), after the grain answered its first
/// <see cref="IConversationGrain.FollowAsync"/>: passes on the replay, then the live events its observer receives, to the
/// final event — never one twice (<see cref="FollowPosition"/>), and never hanging.
/// </summary>
/// <remarks>
/// After <see cref="CheckInterval"/> without an event the follower asks the grain again for the events after the last
/// one it passed on (which also registers it again, had a failed delivery dropped it). When the turn is no longer running
/// there, the follow ends with a final event: if the grain still lives on the node that ran the turn, the turn ended and
/// its final event was lost (a "reload" failure is sent); if the grain moved (or cannot be reached) and the membership
/// says that node is dead, the node's pending turn is settled first — stored failed with its checkpointed text and
/// refunded (<see cref="EngineOptions.CheckpointInterval"/>) — and that final event is sent.
/// </remarks>
/// <param name="grain">The conversation's grain.</param>
/// <param name="conversationId">The conversation.</param>
/// <param name="reference">The follower's observer reference, as registered with the grain.</param>
/// <param name="replay">The grain's first answer (its events and the node the grain lived on).</param>
/// <param name="lastEventId">The client's <c>Last-Event-ID</c>, or null.</param>
/// <param name="nodes">Which nodes are alive; null: none is ever known dead.</param>
/// <param name="logger">Logger.</param>
internal sealed partial class TurnFollower(
    IConversationGrain grain, Guid conversationId, ITurnObserver reference, TurnReply replay, string? lastEventId, INodeDirectory? nodes, ILogger logger)
{
    /// <summary>How long a follower waits without an event before it checks that the turn is still running.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(5);

    private readonly FollowPosition _position = new(lastEventId);

    /// <summary>Passes the turn's events from <paramref name="live"/> (the observer's channel) on to <paramref name="events"/>, to the final one.</summary>
    /// <param name="live">What the grain sends the follower's observer.</param>
    /// <param name="events">Where the follower's events go (completed by the caller).</param>
    /// <param name="aborted">The follower left (throws <see cref="OperationCanceledException"/>).</param>
    public async Task RunAsync(ChannelReader<TurnEvent> live, ChannelWriter<TurnEvent> events, CancellationToken aborted)
    {
        if (_position.Forward(replay.Events, events))
        {
            return;
        }

        Task<bool>? waiting = null;
        while (true)
        {
            while (live.TryRead(out var turnEvent))
            {
                if (_position.Forward([turnEvent], events))
                {
                    return;
                }
            }

            waiting ??= live.WaitToReadAsync(aborted).AsTask();
            if (await Task.WhenAny(waiting, Task.Delay(CheckInterval, aborted)) == waiting)
            {
                waiting = null;
                continue;
            }

            aborted.ThrowIfCancellationRequested();
            if (await CheckAsync(events))
            {
                return;
            }
        }
    }

    /// <summary>The turn has been quiet: asks the grain again.</summary>
    /// <returns>True when the follow is over (its final event was passed on).</returns>
    private async Task<bool> CheckAsync(ChannelWriter<TurnEvent> events)
    {
        string? hostNow = null;
        try
        {
            if (await grain.FollowAsync(_position.LastEventId, reference) is { } again && _position.IsSameTurn(again.Events))
            {
                return _position.Forward(again.Events, events);
            }

            hostNow = (await grain.GetStatusAsync()).NodeId;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCheckFailed(logger, ex, conversationId);
        }

        TurnEvent? final = null;
        if (replay.NodeId is { } node && hostNow != node)
        {
            if (nodes?.IsActive(node) != false)
            {
                return false; // not known dead yet: ask again after the next interval
            }

            try
            {
                final = await grain.SettleAsync(new SettlePendingTurn(conversationId, node));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogCheckFailed(logger, ex, conversationId);
            }
        }

        _position.Forward([final ?? new TurnFailed(TurnError.Unavailable, "The reply ended while it was not being followed; reload the conversation.")], events);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "A follower of conversation {ConversationId} could not check on its turn; it asks again")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception, Guid conversationId);
}
