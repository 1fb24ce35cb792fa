namespace Parley.Engine;

/// <summary>A conversation's cached context, owned by whoever runs the protocol on it (its grain); one call at a time.</summary>
/// <param name="conversationId">The conversation.</param>
public sealed class ConversationState(Guid conversationId)
{
    /// <summary>The conversation.</summary>
    public Guid ConversationId { get; } = conversationId;

    /// <summary>True while a context is cached (the next turn needs no database read).</summary>
    public bool IsLoaded => Context is not null;

    internal ConversationContext? Context { get; set; }

    /// <summary>Forgets the cached context: the next turn reloads it from the database.</summary>
    public void Invalidate() => Context = null;
}

/// <summary>The message "settle the turn that <paramref name="LeftByNode"/> left pending in this conversation" (crash recovery).</summary>
/// <param name="ConversationId">The conversation.</param>
/// <param name="LeftByNode">The node whose pending turn to settle (<see cref="EngineOptions.NodeId"/>).</param>
[GenerateSerializer, Immutable]
public sealed record SettlePendingTurn(Guid ConversationId, string LeftByNode);

/// <summary>Where a turn's events go, in order. <see cref="EmitAsync"/> returns once the event is handed on.</summary>
public abstract class TurnSink
{
    /// <summary>A sink that drops every event (settling a pending turn: nobody is waiting for it).</summary>
    public static readonly TurnSink None = new NullSink();

    /// <summary>Hands on one event.</summary>
    public abstract ValueTask EmitAsync(TurnEvent turnEvent);

    private sealed class NullSink : TurnSink
    {
        public override ValueTask EmitAsync(TurnEvent turnEvent) => ValueTask.CompletedTask;
    }
}

/// <summary>Whether a node (by <see cref="EngineOptions.NodeId"/>) is a live member of the cluster.</summary>
public interface INodeDirectory
{
    /// <summary>True when <paramref name="nodeId"/> is an active member now; false when it is dead, leaving or unknown.</summary>
    bool IsActive(string nodeId);
}
