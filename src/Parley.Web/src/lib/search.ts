import type { ApiClient } from './api';
import { toApiError } from './errors';
import type { Page } from './types';

/** One hit of `GET /api/search` (Search/SearchApi.cs). */
export interface SearchResult {
  conversationId: string;
  /** The message that matched; null when the conversation's title matched. */
  messageId: string | null;
  title: string | null;
  /** Plain text around the match (never HTML): matched terms between « and », "…" where the text is cut. */
  snippet: string;
  createdAt: string;
}

/** A piece of a snippet: text, marked (a matched term) or not. */
export interface SnippetPart {
  text: string;
  marked: boolean;
}

/** The server's limit on `q` (SearchTerms.MaxQueryLength). */
export const MAX_QUERY_LENGTH = 500;

/** The server needs at least one word (letters or digits) to search for; anything else is not sent. */
export function hasSearchableWord(query: string): boolean {
  return /[\p{L}\p{N}]/u.test(query);
}

/**
 * Splits a snippet at its «» marks. The parts are text for React to render (as <mark> or plain text), so nothing in a
 * snippet is ever read as HTML. An unclosed « marks to the end; a stray » is kept as text.
 */
export function parseSnippet(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  const push = (text: string, marked: boolean) => {
    if (!text) return;
    const last = parts.at(-1);
    if (last && last.marked === marked) last.text += text;
    else parts.push({ text, marked });
  };
  let rest = snippet;
  while (rest) {
    const open = rest.indexOf('«');
    if (open < 0) {
      push(rest, false);
      break;
    }
    push(rest.slice(0, open), false);
    const close = rest.indexOf('»', open + 1);
    push(close < 0 ? rest.slice(open + 1) : rest.slice(open + 1, close), true);
    rest = close < 0 ? '' : rest.slice(close + 1);
  }
  return parts;
}

/** `GET /api/search`: the caller's messages and titles that match `q`, most relevant first; `cursor` from the previous page. */
export async function searchConversations(
  api: ApiClient,
  q: string,
  { cursor, limit = 20, signal }: { cursor?: string | null; limit?: number; signal?: AbortSignal } = {},
): Promise<Page<SearchResult>> {
  const params = new URLSearchParams({ q, limit: String(limit) });
  if (cursor) params.set('cursor', cursor);
  const response = await api.authorized(`/api/search?${params.toString()}`, signal ? { signal } : {});
  if (!response.ok) throw await toApiError(response);
  return (await response.json()) as Page<SearchResult>;
}
