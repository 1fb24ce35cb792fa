namespace Parley.Engine.Tests;

/// <summary>Collects a turn's events, for tests that run a <see cref="TurnProtocol"/> directly.</summary>
internal sealed class CollectingSink : TurnSink
{
    public List<TurnEvent> Events { get; } = [];

    public override ValueTask EmitAsync(TurnEvent turnEvent)
    {
        Events.Add(turnEvent);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A cluster membership in which every other node is active, or none is.</summary>
internal sealed class FixedNodes(bool active) : INodeDirectory
{
    public bool IsActive(string nodeId) => active;
}
