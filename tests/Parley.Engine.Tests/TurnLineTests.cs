using Parley.Engine;

namespace Parley.Engine.Tests;

/// <summary>A conversation's turn line runs one at a time in arrival order, and holds nothing once idle again (issue 15).</summary>
public sealed class TurnLineTests
{
    [Fact]
    public async Task WaitersEnterInArrivalOrderAndTheIdleLineHoldsNoWaitState()
    {
        var line = new TurnLine();
        var (first, second, third) = (Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7());

        await line.EnterAsync(first);
        Assert.False(line.HoldsWaitState); // a turn that enters at once allocates nothing

        var secondEntered = line.EnterAsync(second);
        var settleEntered = line.EnterAsync();
        var thirdEntered = line.EnterAsync(third);
        Assert.Equal(2, line.QueuedTurns); // turns, not the settle
        Assert.True(line.StopWhenStarted(third));
        Assert.False(line.StopWhenStarted(third)); // asked once
        Assert.False(line.StopWhenStarted(first)); // running, not waiting
        Assert.True(line.HoldsWaitState);

        line.Leave();
        await secondEntered;
        Assert.False(settleEntered.IsCompleted);
        Assert.Equal(1, line.QueuedTurns);
        Assert.False(line.TakeStopRequest(second));

        line.Leave();
        await settleEntered;
        line.Leave();
        await thirdEntered;
        Assert.Equal(0, line.QueuedTurns);
        Assert.True(line.TakeStopRequest(third));
        Assert.False(line.HoldsWaitState);

        line.Leave();
        Assert.True(line.EnterAsync().IsCompletedSuccessfully); // free again
        Assert.False(line.HoldsWaitState);
    }
}
