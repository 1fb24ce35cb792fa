using System.Threading.Channels;
using Parley.Engine;

namespace Parley.Engine.Tests;

/// <summary>A follower that asks the grain again after a quiet spell gets events it may already have: none is passed on twice.</summary>
public sealed class FollowPositionTests
{
    [Fact]
    public void EventsAtOrBeforeThePositionAreSkippedAndTheRestPassedOnInOrder()
    {
        var channel = Channel.CreateUnbounded<TurnEvent>();
        var position = new FollowPosition("3.4");

        Assert.False(position.Forward([Delta("one ", "3.4"), Delta("two ", "3.8")], channel.Writer)); // a live event that raced the replay, then a new one
        Assert.False(position.Forward([Delta("two ", "3.8"), Delta("six", "3.11")], channel.Writer)); // the check's replay overlaps
        Assert.True(position.Forward([new TurnFailed(TurnError.Unavailable, "gone")], channel.Writer)); // a settled end has no id of its own

        channel.Writer.Complete();
        var passed = new List<TurnEvent>();
        while (channel.Reader.TryRead(out var turnEvent))
        {
            passed.Add(turnEvent);
        }

        Assert.Equal(["3.8", "3.11", "3.12"], passed.Select(e => e.EventId));
        Assert.Equal("3.12", position.LastEventId);
    }

    [Fact]
    public void AReplayOfANewerTurnIsNotTheTurnFollowed()
    {
        var position = new FollowPosition("3.4");

        Assert.True(position.IsSameTurn([Delta("x", "3.9")]));
        Assert.True(position.IsSameTurn([]));
        Assert.False(position.IsSameTurn([Delta("x", "5.1")]));
    }

    private static AssistantDelta Delta(string text, string id) => new(text) { EventId = id };
}
