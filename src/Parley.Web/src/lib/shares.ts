import type { ApiClient } from './api';
import { toApiError } from './errors';
import type { MessageRole, Page } from './types';

/** A share link (Sharing/SharesApi.cs). */
export interface Share {
  id: string;
  /** The page that shows it without login: `{origin}/s/{id}`. */
  url: string;
  createdAt: string;
  conversationId: string;
  /** The conversation's title when the link was made. */
  title: string | null;
}

/** A message of a shared snapshot. */
export interface SharedMessage {
  id: string;
  role: MessageRole;
  content: string;
  createdAt: string;
  model: string | null;
}

/** What anyone with the link reads: the current branch as it was when the link was made. */
export interface SharedConversation {
  title: string | null;
  messages: SharedMessage[];
  createdAt: string;
}

/** The share id of a `/s/{shareId}` path, or null. */
export function shareIdFromPath(path: string): string | null {
  const match = /^\/s\/([A-Za-z0-9_-]+)\/?$/.exec(path);
  return match?.[1] ?? null;
}

async function read<T>(response: Response): Promise<T> {
  if (!response.ok) throw await toApiError(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Makes a link to a snapshot of the conversation's current branch (later turns do not appear in it). */
export async function createShare(api: ApiClient, conversationId: string): Promise<Share> {
  return read<Share>(await api.authorized(`/api/conversations/${encodeURIComponent(conversationId)}/shares`, { method: 'POST' }));
}

/** The signed-in user's links, newest first. */
export async function listShares(api: ApiClient): Promise<Share[]> {
  return (await read<Page<Share>>(await api.authorized('/api/shares'))).items;
}

/** Revokes a link: reading it is a 404 from then on. */
export async function revokeShare(api: ApiClient, shareId: string): Promise<void> {
  await read<void>(await api.authorized(`/api/shares/${encodeURIComponent(shareId)}`, { method: 'DELETE' }));
}

/** Reads a shared snapshot without logging in; an ApiError with status 404 when it was revoked or never existed. */
export async function getSharedConversation(api: ApiClient, shareId: string, signal?: AbortSignal): Promise<SharedConversation> {
  return read<SharedConversation>(await api.raw(`/api/shares/${encodeURIComponent(shareId)}`, signal ? { signal } : {}));
}
