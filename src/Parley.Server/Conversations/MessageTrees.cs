using Microsoft.Extensions.Caching.Memory;
using Parley.Server.Data;

namespace Parley.Server.Conversations;

/// <summary>
/// Keeps the shapes of long conversations' trees (<see cref="MessageTree"/>: ids, parents, sequences) between page reads,
/// so paging through a branch of 10,000 messages reads 100 rows, not 10,000. A shape is kept for its conversation's
/// <c>LastSequence</c>: messages are only ever appended (every insert raises it, a branch switch moves only the current
/// message, which is read with it), so a shape read at the same <c>LastSequence</c> is the same on every node.
/// </summary>
/// <param name="minCachedMessages">Trees with fewer messages are read every time (a few hundred rows cost less than keeping
/// them); <see cref="MinCachedMessages"/> by default.</param>
public sealed class MessageTrees(int minCachedMessages = MessageTrees.MinCachedMessages) : IDisposable
{
    /// <summary>The default of the smallest tree kept.</summary>
    public const int MinCachedMessages = 500;

    /// <summary>At most this many messages' shapes are kept (about 150 bytes each: ~30 MB), the least recently used dropped first.</summary>
    public const int MaxCachedMessages = 200_000;

    private readonly MemoryCache _trees = new(new MemoryCacheOptions { SizeLimit = MaxCachedMessages });

    /// <summary>The tree of <paramref name="conversationId"/> as of <paramref name="lastSequence"/> (the conversation's <c>LastSequence</c> just read).</summary>
    internal async Task<MessageTree> GetAsync(ParleyDbContext db, Guid conversationId, long lastSequence, CancellationToken cancellationToken)
    {
        if (_trees.TryGetValue(conversationId, out MessageTree? kept) && kept!.LastSequence == lastSequence)
        {
            return kept;
        }

        var tree = await MessageTree.LoadAsync(db, conversationId, lastSequence, cancellationToken);
        if (tree.Ordered.Count >= minCachedMessages)
        {
            _trees.Set(conversationId, tree, new MemoryCacheEntryOptions { Size = tree.Ordered.Count, SlidingExpiration = TimeSpan.FromMinutes(5) });
        }

        return tree;
    }

    /// <inheritdoc />
    public void Dispose() => _trees.Dispose();
}
