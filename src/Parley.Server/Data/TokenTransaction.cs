namespace Parley.Server.Data;

/// <summary>
/// One change of a user's token balance (the ledger). Written in the same transaction as the change itself — by the
/// engine's group commit for charges and refunds — so for every user the sum of <see cref="Amount"/> equals the balance.
/// </summary>
public sealed class TokenTransaction
{
    /// <summary>Row id (UUID v7: ordered by time; the listing's cursor).</summary>
    public Guid Id { get; set; }

    /// <summary>The user whose balance changed.</summary>
    public Guid UserId { get; set; }

    /// <summary>One of <see cref="TransactionKinds"/>.</summary>
    public required string Kind { get; set; }

    /// <summary>Tokens added (positive) or taken (negative).</summary>
    public long Amount { get; set; }

    /// <summary>The balance right after this change.</summary>
    public long BalanceAfter { get; set; }

    /// <summary>For <c>message</c> and <c>refund</c>: the user message charged or refunded.</summary>
    public Guid? MessageId { get; set; }

    /// <summary>For <c>topup</c> and <c>correction</c>: the admin who made it.</summary>
    public Guid? ActorId { get; set; }

    /// <summary>For <c>topup</c> and <c>correction</c>: the admin's reason (at most 200 characters).</summary>
    public string? Reason { get; set; }

    /// <summary>When it happened (UTC).</summary>
    public DateTime CreatedAt { get; set; }
}

/// <summary>The kinds of <see cref="TokenTransaction"/>; the engine writes <c>message</c> and <c>refund</c> (Parley.Engine.Storage.SqlTurnStore).</summary>
public static class TransactionKinds
{
    /// <summary>The balance a new account starts with (<c>Quota:InitialBalance</c>).</summary>
    public const string Initial = "initial";

    /// <summary>A message's charge (negative).</summary>
    public const string Message = "message";

    /// <summary>Tokens given back for a failed turn or an unused reservation.</summary>
    public const string Refund = "refund";

    /// <summary>An admin's positive adjustment.</summary>
    public const string TopUp = "topup";

    /// <summary>The periodic <c>Quota:Refill</c>.</summary>
    public const string Refill = "refill";

    /// <summary>An admin's negative adjustment.</summary>
    public const string Correction = "correction";
}
