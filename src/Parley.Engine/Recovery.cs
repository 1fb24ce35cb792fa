using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Parley.Engine;

/// <summary>
/// Crash recovery at start-up: settles the turns this node stored but never answered (the process died mid-turn),
/// before the node joins the cluster, so none of its old turns is still pending once it serves again.
/// </summary>
/// <param name="store">The persistence path.</param>
/// <param name="protocol">The turn protocol.</param>
/// <param name="logger">Logger.</param>
public sealed partial class PendingTurnRecovery(ITurnStore store, TurnProtocol protocol, ILogger<PendingTurnRecovery> logger)
{
    /// <summary>Finds this node's pending turns and settles each (the bot answers it now, or it is stored failed and refunded).</summary>
    /// <param name="cancellationToken">Cancels the search and stops starting new settlements.</param>
    /// <returns>How many conversations had a pending turn of this node.</returns>
    public async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        var nodeId = protocol.Options.NodeId;
        var pending = await store.FindPendingConversationsAsync(nodeId, cancellationToken);
        if (pending.Count == 0)
        {
            return 0;
        }

        LogRecovering(logger, pending.Count);
        await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (conversationId, _) => await protocol.SettleAsync(new ConversationState(conversationId), new SettlePendingTurn(conversationId, nodeId)));
        return pending.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Settling unfinished turns of {Count} conversations left by a previous run of this node")]
    private static partial void LogRecovering(ILogger logger, int count);
}

/// <summary>The cluster's membership, read from Orleans: a node is active when a silo named after its <see cref="EngineOptions.NodeId"/> is.</summary>
/// <param name="membership">Orleans' membership view.</param>
public sealed class OrleansNodeDirectory(IClusterMembershipService membership) : INodeDirectory
{
    /// <inheritdoc />
    public bool IsActive(string nodeId)
    {
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && member.Name == nodeId)
            {
                return true;
            }
        }

        return false;
    }
}
