namespace Parley.Engine.Storage;

/// <summary>
/// The table and column names the engine's raw SQL uses — the one place they are spelled, quoted for both SQLite and
/// PostgreSQL. They follow the server's EF Core model (its migrations create the tables); a server test checks every
/// name here against that model.
/// </summary>
public static class StoreSchema
{
    /// <summary>The users table (ASP.NET Core Identity's), whose <see cref="UserColumns.TokenBalance"/> the turns charge.</summary>
    public const string Users = "\"AspNetUsers\"";

    /// <summary>The conversations table.</summary>
    public const string Conversations = "\"Conversations\"";

    /// <summary>The messages table.</summary>
    public const string Messages = "\"Messages\"";

    /// <summary>The token ledger: one row per balance change.</summary>
    public const string TokenTransactions = "\"TokenTransactions\"";

    /// <summary>Columns of <see cref="Users"/>.</summary>
    public static class UserColumns
    {
        /// <summary>Primary key.</summary>
        public const string Id = "\"Id\"";

        /// <summary>Tokens left.</summary>
        public const string TokenBalance = "\"TokenBalance\"";
    }

    /// <summary>Columns of <see cref="Conversations"/>.</summary>
    public static class ConversationColumns
    {
        /// <summary>Primary key.</summary>
        public const string Id = "\"Id\"";

        /// <summary>The owner.</summary>
        public const string UserId = "\"UserId\"";

        /// <summary>Incremented by every commit (optimistic concurrency).</summary>
        public const string Version = "\"Version\"";

        /// <summary>Sequence of the newest message.</summary>
        public const string LastSequence = "\"LastSequence\"";

        /// <summary>The title.</summary>
        public const string Title = "\"Title\"";

        /// <summary>The model id.</summary>
        public const string Model = "\"Model\"";

        /// <summary>The system prompt.</summary>
        public const string SystemPrompt = "\"SystemPrompt\"";

        /// <summary>Time of the last commit.</summary>
        public const string UpdatedAt = "\"UpdatedAt\"";

        /// <summary>The leaf of the branch shown (the newest message of the current branch).</summary>
        public const string CurrentMessageId = "\"CurrentMessageId\"";

        /// <summary>A pending turn's reply so far (its last checkpoint).</summary>
        public const string PartialReply = "\"PartialReply\"";

        /// <summary>Turns add excerpts of the owner's documents to the prompt.</summary>
        public const string UseDocuments = "\"UseDocuments\"";
    }

    /// <summary>Columns of <see cref="Messages"/>.</summary>
    public static class MessageColumns
    {
        /// <summary>Primary key.</summary>
        public const string Id = "\"Id\"";

        /// <summary>The conversation.</summary>
        public const string ConversationId = "\"ConversationId\"";

        /// <summary>Position in the conversation, from 1.</summary>
        public const string Sequence = "\"Sequence\"";

        /// <summary>user or assistant.</summary>
        public const string Role = "\"Role\"";

        /// <summary>The text.</summary>
        public const string Content = "\"Content\"";

        /// <summary>pending, completed, cancelled or failed.</summary>
        public const string Status = "\"Status\"";

        /// <summary>The client's idempotency key (unique per conversation).</summary>
        public const string ClientMessageId = "\"ClientMessageId\"";

        /// <summary>When it was stored.</summary>
        public const string CreatedAt = "\"CreatedAt\"";

        /// <summary>The node that stored a pending user message.</summary>
        public const string NodeId = "\"NodeId\"";

        /// <summary>Tokens of the content.</summary>
        public const string TokenCount = "\"TokenCount\"";

        /// <summary>The model of a reply.</summary>
        public const string Model = "\"Model\"";

        /// <summary>Why a reply ended.</summary>
        public const string FinishReason = "\"FinishReason\"";

        /// <summary>Prompt tokens the model reported.</summary>
        public const string PromptTokens = "\"PromptTokens\"";

        /// <summary>Completion tokens the model reported.</summary>
        public const string CompletionTokens = "\"CompletionTokens\"";

        /// <summary>Tokens charged for a user message.</summary>
        public const string Charge = "\"Charge\"";

        /// <summary>The message this one follows in its branch (null for a conversation's first).</summary>
        public const string ParentId = "\"ParentId\"";

        /// <summary>Assistant messages: the document chunks in the prompt, a JSON array (<see cref="Bots.MessageSource.ToJson"/>).</summary>
        public const string Sources = "\"Sources\"";

        /// <summary>Every column, in the order <see cref="SqlTurnStore"/> writes and reads them (its reader reads by position).</summary>
        public const string All = Id + ", " + ConversationId + ", " + Sequence + ", " + Role + ", " + Content + ", " + Status + ", " +
            ClientMessageId + ", " + CreatedAt + ", " + NodeId + ", " + TokenCount + ", " + Model + ", " + FinishReason + ", " +
            PromptTokens + ", " + CompletionTokens + ", " + Charge + ", " + ParentId + ", " + Sources;

        /// <summary>How many columns <see cref="All"/> names.</summary>
        public const int Count = 17;
    }

    /// <summary>Columns of <see cref="TokenTransactions"/>.</summary>
    public static class TokenTransactionColumns
    {
        /// <summary>Primary key.</summary>
        public const string Id = "\"Id\"";

        /// <summary>The user whose balance changed.</summary>
        public const string UserId = "\"UserId\"";

        /// <summary>message, refund, …</summary>
        public const string Kind = "\"Kind\"";

        /// <summary>The change (negative: a charge).</summary>
        public const string Amount = "\"Amount\"";

        /// <summary>The balance after the change.</summary>
        public const string BalanceAfter = "\"BalanceAfter\"";

        /// <summary>The message charged or refunded.</summary>
        public const string MessageId = "\"MessageId\"";

        /// <summary>When.</summary>
        public const string CreatedAt = "\"CreatedAt\"";
    }
}
