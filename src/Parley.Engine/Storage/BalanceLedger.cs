namespace Parley.Engine.Storage;

/// <summary>
/// The balances of one group-commit batch's users, as read in its transaction, with the batch's charges and refunds
/// applied in memory (written once per user at the batch's end) and the charges of operations still waiting for their
/// version check held as reservations, so no two operations of a batch spend the same tokens.
/// </summary>
internal sealed class BalanceLedger
{
    private readonly Dictionary<Guid, Account> _accounts = [];

    /// <summary>Forgets every balance (a new batch, or a rerun of one).</summary>
    public void Clear() => _accounts.Clear();

    /// <summary>True when the user's balance was read in this batch (or the user was found missing).</summary>
    public bool IsKnown(Guid userId) => _accounts.ContainsKey(userId);

    /// <summary>Records the balance read for a user; null: no such user.</summary>
    public void Set(Guid userId, long? balance) => _accounts[userId] = new Account { Balance = balance ?? 0, Exists = balance is not null };

    /// <summary>The balance with the batch's settled charges and refunds; null for no such user.</summary>
    public long? Balance(Guid userId) => _accounts[userId] is { Exists: true } account ? account.Balance + account.Delta : null;

    /// <summary>Holds <paramref name="amount"/> for an operation whose commit is not settled yet; false when the balance, less what other operations hold, does not cover it.</summary>
    public bool TryReserve(Guid userId, long amount)
    {
        var account = _accounts[userId];
        if (!account.Exists || account.Balance + account.Delta - account.Reserved < amount)
        {
            return false;
        }

        account.Reserved += amount;
        return true;
    }

    /// <summary>True while other operations of the batch hold tokens of the user (a refusal may then be premature).</summary>
    public bool HasReservations(Guid userId) => _accounts[userId].Reserved > 0;

    /// <summary>Releases a reservation; charges it when <paramref name="charge"/>. Returns the balance after.</summary>
    public long Settle(Guid userId, long amount, bool charge)
    {
        var account = _accounts[userId];
        account.Reserved -= amount;
        if (charge)
        {
            account.Delta -= amount;
        }

        return account.Balance + account.Delta;
    }

    /// <summary>Gives <paramref name="amount"/> back (a refund). Returns the balance after.</summary>
    public long Refund(Guid userId, long amount)
    {
        var account = _accounts[userId];
        account.Delta += amount;
        return account.Balance + account.Delta;
    }

    /// <summary>The net change of every user whose balance the batch changed.</summary>
    public IEnumerable<(Guid UserId, long Delta)> Changes()
    {
        foreach (var (userId, account) in _accounts)
        {
            if (account.Delta != 0)
            {
                yield return (userId, account.Delta);
            }
        }
    }

    private sealed class Account
    {
        public long Balance { get; init; }

        public bool Exists { get; init; }

        public long Delta { get; set; }

        public long Reserved { get; set; }
    }
}
