import { NetworkError, SessionExpiredError, isAbortError, toApiError } from './errors';
import { SessionStore } from './session';
import { readChatEvents } from './sse';
import type {
  AdminStats,
  AdminUser,
  Balance,
  ChatEvent,
  Conversation,
  DocumentInfo,
  Message,
  ModelInfo,
  Page,
  SendResult,
  Registered,
  SessionInfo,
  TokenPair,
  Transaction,
  User,
} from './types';

type Fetch = typeof fetch;

export interface MessagePageQuery {
  limit?: number;
  cursor?: string;
  from?: 'start' | 'end';
}

/** Refresh this long before the access token's stated expiry, to absorb clock skew. */
const EXPIRY_MARGIN_MS = 10_000;

function query(params: { [key: string]: string | number | undefined }): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

function jsonInit(method: string, body?: unknown): RequestInit {
  return body === undefined
    ? { method }
    : { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * The Parley REST API. Authenticated calls carry the access token; a 401 triggers one refresh
 * (shared by all calls that hit 401 at the same time) and one retry; a failed refresh ends the session.
 */
export class ApiClient {
  private refreshing: Promise<boolean> | null = null;

  constructor(
    readonly session: SessionStore,
    private readonly fetchImpl: Fetch = (input, init) => fetch(input, init),
    private readonly now: () => number = Date.now,
  ) {}

  // ---- auth ----

  /** Registers and signs the new user in (the server returns the first session's tokens). */
  async register(body: { userName: string; email?: string; password: string }): Promise<User> {
    const registered = await this.publicJson<Registered>('/api/auth/register', jsonInit('POST', body));
    this.session.set(registered.tokens);
    return registered;
  }

  async login(userName: string, password: string): Promise<void> {
    const pair = await this.publicJson<TokenPair>('/api/auth/login', jsonInit('POST', { userName, password }));
    this.session.set(pair);
  }

  /** Revokes the refresh token on the server (best effort) and always ends the local session. */
  async logout(): Promise<void> {
    const current = this.session.get();
    this.session.clear();
    if (!current) return;
    try {
      await this.fetchImpl('/api/auth/logout', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${current.accessToken}` },
        body: JSON.stringify({ refreshToken: current.refreshToken }),
      });
    } catch {
      // Offline: the refresh token simply expires on the server.
    }
  }

  me(): Promise<User> {
    return this.json<User>('/api/users/me');
  }

  balance(): Promise<Balance> {
    return this.json<Balance>('/api/users/me/balance');
  }

  // ---- the user's own account ----

  transactions(params: { limit?: number; cursor?: string } = {}): Promise<Page<Transaction>> {
    return this.json<Page<Transaction>>(`/api/users/me/transactions${query(params)}`);
  }

  changePassword(currentPassword: string, newPassword: string): Promise<void> {
    return this.json<void>('/api/users/me/password', jsonInit('POST', { currentPassword, newPassword }));
  }

  sessions(): Promise<SessionInfo[]> {
    return this.json<SessionInfo[]>('/api/users/me/sessions');
  }

  revokeSession(id: string): Promise<void> {
    return this.json<void>(`/api/users/me/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  /** Deletes the account and everything in it, then ends the local session. */
  async deleteAccount(password: string): Promise<void> {
    await this.json<void>('/api/users/me', jsonInit('DELETE', { password }));
    this.session.clear();
  }

  // ---- admin ----

  adminUsers(params: { query?: string; limit?: number; cursor?: string } = {}): Promise<Page<AdminUser>> {
    return this.json<Page<AdminUser>>(`/api/admin/users${query(params)}`);
  }

  adminUpdateUser(id: string, change: { disabled?: boolean; role?: 'user' | 'admin' }): Promise<AdminUser> {
    return this.json<AdminUser>(`/api/admin/users/${encodeURIComponent(id)}`, jsonInit('PATCH', change));
  }

  adminAdjustBalance(id: string, amount: number, reason?: string): Promise<{ userId: string; tokenBalance: number }> {
    return this.json(`/api/admin/users/${encodeURIComponent(id)}/balance`, jsonInit('POST', { amount, reason }));
  }

  adminStats(): Promise<AdminStats> {
    return this.json<AdminStats>('/api/admin/stats');
  }

  // ---- conversations ----

  /** Pinned first, then newest activity; `archived: true` lists only the archived ones. */
  listConversations(params: { limit?: number; cursor?: string; archived?: boolean } = {}): Promise<Page<Conversation>> {
    const { archived, ...rest } = params;
    return this.json<Page<Conversation>>(`/api/conversations${query({ ...rest, archived: archived ? 'true' : undefined })}`);
  }

  createConversation(title?: string, model?: string): Promise<Conversation> {
    const body: Record<string, string> = {};
    if (title) body.title = title;
    if (model) body.model = model;
    return this.json<Conversation>('/api/conversations', jsonInit('POST', body));
  }

  /** Changes a conversation's model and/or system prompt ('' for none). */
  updateConversation(
    id: string,
    change: { model?: string; systemPrompt?: string; pinned?: boolean; archived?: boolean; useDocuments?: boolean },
  ): Promise<Conversation> {
    return this.json<Conversation>(`/api/conversations/${encodeURIComponent(id)}`, jsonInit('PATCH', change));
  }

  /** Stops the conversation's running turn (from any tab); its stream then ends with the stored, cancelled reply. */
  stopTurn(id: string): Promise<void> {
    return this.json<void>(`/api/conversations/${encodeURIComponent(id)}/stop`, { method: 'POST' });
  }

  /** The models a conversation may use. */
  listModels(): Promise<{ items: ModelInfo[] }> {
    return this.json<{ items: ModelInfo[] }>('/api/models');
  }

  getConversation(id: string): Promise<Conversation> {
    return this.json<Conversation>(`/api/conversations/${encodeURIComponent(id)}`);
  }

  renameConversation(id: string, title: string): Promise<Conversation> {
    return this.json<Conversation>(`/api/conversations/${encodeURIComponent(id)}`, jsonInit('PATCH', { title }));
  }

  deleteConversation(id: string): Promise<void> {
    return this.json<void>(`/api/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  // ---- documents ----

  /** The user's documents, newest first. */
  listDocuments(): Promise<DocumentInfo[]> {
    return this.json<DocumentInfo[]>('/api/documents');
  }

  /** Uploads a plain-text or Markdown file; the server splits it into chunks and indexes them. */
  uploadDocument(file: File): Promise<DocumentInfo> {
    const form = new FormData();
    form.append('file', file, file.name);
    return this.json<DocumentInfo>('/api/documents', { method: 'POST', body: form });
  }

  deleteDocument(id: string): Promise<void> {
    return this.json<void>(`/api/documents/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  // ---- messages ----

  /** Switches to the branch of a message: the current message becomes its newest descendant. */
  switchBranch(conversationId: string, messageId: string): Promise<Conversation> {
    return this.json<Conversation>(`/api/conversations/${encodeURIComponent(conversationId)}/current`, jsonInit('PUT', { messageId }));
  }

  /** A page of the current branch's messages, oldest first. With a cursor, the cursor alone decides the direction. */
  listMessages(conversationId: string, params: MessagePageQuery = {}): Promise<Page<Message>> {
    const q = params.cursor ? { limit: params.limit, cursor: params.cursor } : { ...params };
    return this.json<Page<Message>>(`/api/conversations/${encodeURIComponent(conversationId)}/messages${query(q)}`);
  }

  /**
   * Sends one turn and streams it. Errors before the server accepts the turn are thrown as ApiError
   * (402, 429, 400…); after that they arrive as `error` events.
   */
  async streamMessage(
    conversationId: string,
    content: string,
    clientMessageId: string,
    signal?: AbortSignal,
    /** An edit: the parent of the edited message (null for the first message). Absent: after the current message. */
    parentId?: string | null,
  ): Promise<AsyncGenerator<ChatEvent>> {
    const body = parentId === undefined ? { content, clientMessageId } : { content, clientMessageId, parentId };
    return this.streamTurn(`/api/conversations/${encodeURIComponent(conversationId)}/messages`, body, signal);
  }

  /** Regenerates an assistant message and streams the new version: `delta` events, then `assistant` (or `error`). */
  async streamRegenerate(
    conversationId: string,
    messageId: string,
    clientMessageId: string,
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<ChatEvent>> {
    const path = `/api/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(messageId)}/regenerate`;
    return this.streamTurn(path, { clientMessageId }, signal);
  }

  private async streamTurn(path: string, body: object, signal?: AbortSignal): Promise<AsyncGenerator<ChatEvent>> {
    const init = jsonInit('POST', body);
    init.headers = { ...init.headers, Accept: 'text/event-stream' };
    if (signal) init.signal = signal;
    const response = await this.authorized(path, init);
    if (!response.ok) throw await toApiError(response);

    const type = response.headers.get('content-type') ?? '';
    if (type.includes('text/event-stream') && response.body) return readChatEvents(response.body);
    // A server that answers a streaming request with plain JSON still gives a complete turn.
    const result = (await response.json()) as SendResult;
    return (async function* () {
      if (result.userMessage) {
        yield { type: 'user', userMessage: result.userMessage, tokenBalance: result.tokenBalance } satisfies ChatEvent;
      }
      yield { type: 'delta', text: result.assistantMessage.content } satisfies ChatEvent;
      yield {
        type: 'assistant',
        assistantMessage: result.assistantMessage,
        tokenBalance: result.tokenBalance,
      } satisfies ChatEvent;
    })();
  }

  /**
   * Follows the conversation's running turn (GET /stream): its events after `lastEventId` (from the start of the turn
   * without one), then the live ones to the final `assistant` or `error`. Null when no turn is running (204).
   */
  async followTurn(
    conversationId: string,
    lastEventId: string | null,
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<ChatEvent> | null> {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    const init: RequestInit = { method: 'GET', headers };
    if (signal) init.signal = signal;
    const response = await this.authorized(`/api/conversations/${encodeURIComponent(conversationId)}/stream`, init);
    if (response.status === 204) return null;
    if (!response.ok) throw await toApiError(response);
    if (!response.body) return null;
    return readChatEvents(response.body);
  }

  // ---- plumbing ----

  /** fetch without the session (public endpoints such as a shared conversation), or with the given access token. */
  async raw(path: string, init: RequestInit, accessToken?: string): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has('Accept')) headers.set('Accept', 'application/json');
    if (accessToken) headers.set('Authorization', `Bearer ${accessToken}`);
    try {
      return await this.fetchImpl(path, { ...init, headers });
    } catch (error) {
      if (isAbortError(error)) throw error;
      throw new NetworkError(error);
    }
  }

  /** fetch with the access token, refreshing it once on 401. */
  async authorized(path: string, init: RequestInit = {}): Promise<Response> {
    let session = this.session.get();
    if (!session) throw new SessionExpiredError();
    if (this.now() >= session.expiresAt - EXPIRY_MARGIN_MS) {
      if (!(await this.refresh(session.accessToken))) throw new SessionExpiredError();
      session = this.session.get();
      if (!session) throw new SessionExpiredError();
    }

    const response = await this.raw(path, init, session.accessToken);
    if (response.status !== 401) return response;

    if (!(await this.refresh(session.accessToken))) throw new SessionExpiredError();
    const renewed = this.session.get();
    if (!renewed) throw new SessionExpiredError();
    const retried = await this.raw(path, init, renewed.accessToken);
    if (retried.status === 401) {
      this.session.clear('expired');
      throw new SessionExpiredError();
    }
    return retried;
  }

  /**
   * Exchanges the refresh token for a new pair. Concurrent callers share one request; a caller whose
   * stale token was already replaced gets `true` at once. Resolves false (and ends the session) when the
   * server rejects the refresh token; a network failure is thrown and keeps the session.
   */
  refresh(staleAccessToken?: string): Promise<boolean> {
    const current = this.session.get();
    if (!current) return Promise.resolve(false);
    if (staleAccessToken !== undefined && current.accessToken !== staleAccessToken) return Promise.resolve(true);
    if (this.refreshing) return this.refreshing;

    this.refreshing = (async () => {
      try {
        const response = await this.raw('/api/auth/refresh', jsonInit('POST', { refreshToken: current.refreshToken }));
        if (response.ok) {
          this.session.set((await response.json()) as TokenPair);
          return true;
        }
        if (response.status >= 500 || response.status === 429) throw await toApiError(response);
        this.session.clear('expired');
        return false;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return this.readJson<T>(await this.authorized(path, init));
  }

  private async publicJson<T>(path: string, init: RequestInit): Promise<T> {
    return this.readJson<T>(await this.raw(path, init));
  }

  private async readJson<T>(response: Response): Promise<T> {
    if (!response.ok) throw await toApiError(response);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

/** The app's client; tests build their own with a fake fetch. */
export const api = new ApiClient(new SessionStore());
