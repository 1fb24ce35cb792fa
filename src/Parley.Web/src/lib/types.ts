// Shapes of the Parley REST API (JSON, camelCase).

export interface User {
  id: string;
  userName: string;
  email: string | null;
  tokenBalance: number;
  createdAt: string;
  role: 'user' | 'admin';
}

/** POST /api/auth/register: the new user, already signed in. */
export interface Registered extends User {
  tokens: TokenPair;
}

/** One change of the token balance. */
export interface Transaction {
  id: string;
  kind: 'initial' | 'message' | 'refund' | 'topup' | 'refill' | 'correction';
  amount: number;
  balanceAfter: number;
  messageId: string | null;
  reason: string | null;
  createdAt: string;
}

/** A live login session. */
export interface SessionInfo {
  id: string;
  userAgent: string | null;
  createdAt: string;
  lastUsedAt: string;
  current: boolean;
}

/** A user as the admin API lists it. */
export interface AdminUser {
  id: string;
  userName: string;
  email: string | null;
  role: 'user' | 'admin';
  tokenBalance: number;
  disabled: boolean;
  createdAt: string;
  lastActiveAt: string | null;
  messageCount: number;
}

export interface AdminStats {
  users: number;
  activeUsers: number;
  conversations: number;
  messages: number;
  turns24h: number;
  tokensCharged24h: number;
  lastRetentionRun: { finishedAt: string; deleted: number } | null;
}

export interface Balance {
  tokenBalance: number;
  costPerMessage: number;
}

export interface TokenPair {
  accessToken: string;
  tokenType: string;
  /** Lifetime of the access token in seconds. */
  expiresIn: number;
  refreshToken: string;
}

export interface Conversation {
  id: string;
  title: string | null;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
  /** The model that answers (an id of GET /api/models). */
  model?: string;
  /** The conversation's own system prompt; null when it uses the server's default, '' for none. */
  systemPrompt?: string | null;
  /** The turn running now (follow it with GET /api/conversations/{id}/stream); null when none. */
  activeTurn?: { userMessageId: string; startedAt: string } | null;
  /** The leaf of the branch the user is on; null while empty. */
  currentMessageId?: string | null;
  /** Pinned conversations are listed first. */
  pinned?: boolean;
  /** Archived conversations are listed only in the Archived view. */
  archived?: boolean;
  /** Each reply first retrieves excerpts of the user's documents (the "Use my documents" setting). */
  useDocuments?: boolean;
}

/** One of the user's documents (GET /api/documents). */
export interface DocumentInfo {
  id: string;
  title: string;
  /** Size of the text in UTF-8 bytes. */
  bytes: number;
  /** How many chunks it was split into. */
  chunks: number;
  createdAt: string;
}

/** A chunk of the user's documents a reply's prompt carried. */
export interface MessageSource {
  documentId: string;
  title: string;
  /** The chunk's position in the document, from 0. */
  chunkIndex: number;
}

/** A model a conversation may use (GET /api/models). */
export interface ModelInfo {
  id: string;
  contextTokens: number;
  maxOutputTokens: number;
  isDefault: boolean;
}

/** Tokens of one turn. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** How a reply ended. */
export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error';

export type MessageRole = 'user' | 'assistant';
export type MessageStatus = 'pending' | 'completed' | 'failed' | 'cancelled';

export interface Message {
  id: string;
  conversationId: string;
  sequence: number;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  createdAt: string;
  /** Assistant messages: the model that wrote it. */
  model?: string | null;
  /** Assistant messages: how the reply ended. */
  finishReason?: FinishReason | null;
  /** Assistant messages: the turn's tokens. */
  usage?: Usage | null;
  /** The previous message of its branch; null for a first message. */
  parentId?: string | null;
  /** The messages with the same parent (itself included), oldest first: its versions. Only in GET …/messages. */
  siblingIds?: string[] | null;
  /** Assistant messages with "Use my documents": the document chunks its prompt carried, best first. */
  sources?: MessageSource[] | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface SendResult {
  userMessage: Message;
  assistantMessage: Message;
  tokenBalance: number;
}

/** RFC 9457 problem details, as the server sends them. */
export interface ProblemDetails {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  /** Field errors keyed by camelCase field name. */
  errors?: Record<string, string[]>;
  traceId?: string;
  /** The balance after a refused or refunded turn, when the server includes it. */
  tokenBalance?: number;
}

/** One event of a streamed chat turn (see lib/sse.ts). */
export type ChatEvent = (
  | { type: 'user'; userMessage: Message; tokenBalance: number }
  | { type: 'delta'; text: string }
  | { type: 'assistant'; assistantMessage: Message; tokenBalance: number }
  | { type: 'error'; problem: ProblemDetails }
  /** A known event whose data could not be understood; the stream goes on. */
  | { type: 'invalid'; event: string; data: string; reason: string }
) & {
  /** The SSE `id:` (`{userMessageSequence}.{n}`), sent back as `Last-Event-ID` to resume after this event. */
  id?: string;
};
