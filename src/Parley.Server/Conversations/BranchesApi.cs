using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Parley.Engine;
using Parley.Engine.Bots;
using Parley.Server.Accounts;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Conversations;

/// <summary>
/// A conversation's tree of messages: each message has a parent (null for a first message); siblings are the versions
/// an edit or a regenerate made; the conversation's current message is the leaf of the branch the user is on.
/// </summary>
public static class BranchesApi
{
    /// <summary>Maps <c>PUT /api/conversations/{id}/current</c> on the conversations group.</summary>
    internal static void MapBranches(this RouteGroupBuilder group) =>
        group.MapPut("/{id:guid}/current", SetCurrent).WithName("SwitchBranch")
            .WithSummary("Switch to the branch of a message: the current message becomes its newest descendant along the most recently created children.");

    /// <summary>
    /// Switches branch: the current message becomes the newest descendant of <c>messageId</c> (following the most recently
    /// created child at each step), and <c>GET …/messages</c> and the next send continue that branch. A turn running now
    /// still moves the current message to its reply when it ends. 200 with the conversation; 400 without a messageId; 404
    /// when the conversation is not the caller's or the message is not in it.
    /// </summary>
    public static async Task<Results<Ok<ConversationDto>, ValidationProblem, ProblemHttpResult>> SetCurrent(
        Guid id, SetCurrentMessageRequest body, ClaimsPrincipal principal, ParleyDbContext db, BotSettings bot, ConversationClient engine,
        CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        if (!await db.Conversations.AnyAsync(c => c.Id == id && c.UserId == userId, cancellationToken))
        {
            return Problems.NotFound("conversation");
        }

        var tree = await MessageTree.LoadAsync(db, id, cancellationToken);
        if (body.MessageId is not { } messageId || !tree.Contains(messageId))
        {
            return Problems.NotFound("message");
        }

        var leaf = tree.NewestDescendant(messageId);
        await db.Conversations.Where(c => c.Id == id && c.UserId == userId)
            .ExecuteUpdateAsync(c => c.SetProperty(x => x.CurrentMessageId, leaf), cancellationToken);
        await engine.InvalidateAsync(id); // the next turn reloads the context of the new branch

        var conversation = await db.Conversations.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, cancellationToken);
        return conversation is null ? Problems.NotFound("conversation") : TypedResults.Ok(ConversationDto.From(conversation, bot));
    }
}

/// <summary>The shape of a conversation's tree (ids, parents, sequences; no content), read in one query.</summary>
internal sealed class MessageTree
{
    private readonly Dictionary<Guid, Node> _nodes;
    private readonly ILookup<Guid?, Node> _children;
    private KeptPath? _lastPath;

    private MessageTree(List<Node> nodes, long lastSequence)
    {
        LastSequence = lastSequence;
        nodes.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        Ordered = nodes;
        _nodes = nodes.ToDictionary(n => n.Id);
        _children = nodes.ToLookup(n => n.ParentId); // in sequence (creation) order
    }

    /// <summary>Every message, in sequence order.</summary>
    public List<Node> Ordered { get; }

    /// <summary>The highest sequence the tree was read up to (<see cref="long.MaxValue"/>: every message).</summary>
    public long LastSequence { get; }

    /// <summary>Reads the tree's shape, the messages up to <paramref name="lastSequence"/>.</summary>
    public static async Task<MessageTree> LoadAsync(ParleyDbContext db, Guid conversationId, long lastSequence, CancellationToken cancellationToken) =>
        new(await db.Messages.AsNoTracking().Where(m => m.ConversationId == conversationId && m.Sequence <= lastSequence)
            .Select(m => new Node(m.Id, m.ParentId, m.Sequence)).ToListAsync(cancellationToken), lastSequence);

    /// <summary>Reads the tree's shape, every message.</summary>
    public static Task<MessageTree> LoadAsync(ParleyDbContext db, Guid conversationId, CancellationToken cancellationToken) =>
        LoadAsync(db, conversationId, long.MaxValue, cancellationToken);

    public bool Contains(Guid id) => _nodes.ContainsKey(id);

    /// <summary>The branch from the root to <paramref name="leaf"/>, in sequence order; empty when there is no leaf. The
    /// last branch asked for is kept (a kept tree serves page after page of it): do not change the list.</summary>
    public List<Node> PathTo(Guid? leaf)
    {
        if (_lastPath is { } kept && kept.Leaf == leaf)
        {
            return kept.Path;
        }

        var path = new List<Node>();
        for (var id = leaf; id is { } current && _nodes.TryGetValue(current, out var node); id = node.ParentId)
        {
            path.Add(node);
        }

        path.Reverse();
        _lastPath = new KeptPath(leaf, path);
        return path;
    }

    /// <summary>The index of the first of <paramref name="nodes"/> (in sequence order) with a sequence of at least
    /// <paramref name="sequence"/>; <c>nodes.Count</c> when there is none.</summary>
    public static int IndexAtOrAfter(List<Node> nodes, long sequence)
    {
        var (low, high) = (0, nodes.Count);
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            (low, high) = nodes[middle].Sequence < sequence ? (middle + 1, high) : (low, middle);
        }

        return low;
    }

    /// <summary>The newest descendant of <paramref name="id"/>, following the most recently created child at each step.</summary>
    public Guid NewestDescendant(Guid id)
    {
        while (_children[id].LastOrDefault() is { } child)
        {
            id = child.Id;
        }

        return id;
    }

    /// <summary>The messages with the same parent as <paramref name="node"/> (itself included), oldest first.</summary>
    public IReadOnlyList<Guid> SiblingsOf(Node node) => _children[node.ParentId].Select(n => n.Id).ToList();
}

/// <summary>A branch computed by <see cref="MessageTree.PathTo"/>, kept with the leaf it ends at (replaced whole, so readers on other threads see one or the other).</summary>
internal sealed record KeptPath(Guid? Leaf, List<Node> Path);

/// <summary>A message's place in its conversation's tree.</summary>
internal sealed record Node(Guid Id, Guid? ParentId, long Sequence);
