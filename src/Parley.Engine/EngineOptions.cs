namespace Parley.Engine;

/// <summary>Settings of the conversation engine, bound from the <c>Engine</c> configuration section (and <c>Quota</c> for costs).</summary>
public sealed class EngineOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Engine";

    /// <summary>This node's name, stored on pending user messages so a restarted node can recover its own unfinished turns. Default: the machine name. Nodes sharing a database must have distinct names.</summary>
    public string NodeId { get; set; } = Environment.MachineName;

    /// <summary>Turns that may wait in one conversation's queue (counted by its grain, cluster-wide); beyond it a send fails with <see cref="TurnError.QueueFull"/> (HTTP 429). Default 64.</summary>
    public int MailboxCapacity { get; set; } = 64;

    /// <summary>A conversation grain unused this long is deactivated (Orleans' collection age) and its context dropped. Default 15 minutes.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Under memory pressure, grains are deactivated (oldest first) while the process's memory use is above this percentage of the machine's (or container's) memory. Default 80; 0 turns shedding off.</summary>
    public int MemoryUsageLimitPercentage { get; set; } = 80;

    /// <summary>Most recent messages kept in a conversation's in-RAM context and sent to the bot. Default 50.</summary>
    public int ContextWindowMessages { get; set; } = 50;

    /// <summary>Most characters of message content kept in a context window; older messages are trimmed first. Default 100,000.</summary>
    public int ContextWindowChars { get; set; } = 100_000;

    /// <summary>Longest accepted user message, in characters (UTF-16 code units). Default 32,000.</summary>
    public int MaxContentLength { get; set; } = 32_000;

    /// <summary>Longest a bot may take for one reply before the turn fails (and is refunded). Default 120 seconds.</summary>
    public TimeSpan TurnTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Tokens charged per accepted user message (<c>Quota:CostPerMessage</c>). Default 100.</summary>
    public long CostPerMessage { get; set; } = 100;

    /// <summary>Most commits a writer (see <see cref="CommitWriters"/>) puts in one database transaction (group commit). Default 256.</summary>
    public int MaxCommitBatch { get; set; } = 256;

    /// <summary>Most <see cref="CommitWriters"/>: 32.</summary>
    public const int MaxCommitWriters = 32;

    /// <summary>
    /// Group-commit writers of this node, each with its own loop, database connection and transaction, committing
    /// concurrently: 0 (the default) is automatic — 1 on SQLite, 4 on PostgreSQL; 1 to 32 sets it. Every write is routed
    /// by its user to one writer (a hash of the user id), so all writes of a user — its conversations and its balance —
    /// stay in one writer's queue, in order, and two writers of a node never lock the same rows. More writers overlap
    /// the round trips and fsyncs of their batches (PostgreSQL); each holds one pooled connection. On SQLite, which lets
    /// one transaction write at a time, a value above 1 stops the server at start.
    /// </summary>
    public int CommitWriters { get; set; }

    /// <summary>When true (the default), a turn goes on to completion when the client that sent it disconnects: the turn
    /// belongs to the conversation's grain, and only the stop endpoint or <see cref="TurnTimeout"/> ends it early (the
    /// client may follow it again with <see cref="ConversationClient.FollowAsync"/>). False: a disconnect stops the
    /// running turn (stored <see cref="MessageStatuses.Cancelled"/>) and drops a queued one.</summary>
    public bool ContinueOnDisconnect { get; set; } = true;

    /// <summary>Bytes a running turn's <see cref="TurnBuffer"/> may use before its older deltas are coalesced into one
    /// (the text itself is never dropped; only the boundaries between old chunks are). Default 1 MiB.</summary>
    public int StreamBufferBytes { get; set; } = 1 << 20;

    /// <summary>While a reply streams, its text so far is written to the database this often — with the first chunk
    /// after each interval — so that a crash mid-reply leaves that text, stored <see cref="MessageStatuses.Failed"/> and
    /// refunded, instead of an empty reply (see <see cref="TurnCheckpoints"/>). Default 2 seconds; 100 ms to 10 minutes.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting that is out of range.</summary>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(NodeId);
        ArgumentOutOfRangeException.ThrowIfLessThan(MailboxCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MemoryUsageLimitPercentage, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MemoryUsageLimitPercentage, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(ContextWindowMessages, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(ContextWindowChars, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxContentLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(CostPerMessage, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxCommitBatch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(CommitWriters);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(CommitWriters, MaxCommitWriters);
        ArgumentOutOfRangeException.ThrowIfLessThan(StreamBufferBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(TurnTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(CheckpointInterval, TimeSpan.FromMilliseconds(100));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(CheckpointInterval, TimeSpan.FromMinutes(10));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(IdleTimeout, TimeSpan.Zero);
    }
}
