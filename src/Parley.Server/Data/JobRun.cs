namespace Parley.Server.Data;

/// <summary>
/// A cluster-wide periodic job (e.g. retention): a lease so that one node runs it at a time, and the result of its last run.
/// </summary>
public sealed class JobRun
{
    /// <summary>The job's name, e.g. <c>retention</c>.</summary>
    public required string Name { get; set; }

    /// <summary>The node holding the lease (<c>Engine:NodeId</c>), or null.</summary>
    public string? LeaseHolder { get; set; }

    /// <summary>When the lease ends (UTC); another node may take it after that.</summary>
    public DateTime? LeaseExpiresAt { get; set; }

    /// <summary>When the last run finished (UTC).</summary>
    public DateTime? LastRunAt { get; set; }

    /// <summary>What the last run did (for retention: conversations deleted).</summary>
    public long LastRunCount { get; set; }
}
