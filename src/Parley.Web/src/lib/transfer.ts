import type { ApiClient } from './api';
import { toApiError } from './errors';

/** What `POST /api/conversations/import` stored (Import/ImportApi.cs). */
export interface ImportResult {
  imported: number;
  conversationIds: string[];
}

/**
 * The file name of a `Content-Disposition` header: `filename*` (RFC 5987, UTF-8) first, then `filename`; null when it
 * names none. Path separators are dropped, so the name cannot point outside the downloads folder.
 */
export function filenameFromContentDisposition(header: string | null): string | null {
  if (!header) return null;
  let name: string | null = null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended?.[1]) {
    try {
      name = decodeURIComponent(extended[1].trim());
    } catch {
      name = null;
    }
  }
  if (!name) {
    const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/.exec(header);
    name = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2]?.trim() ?? null;
  }
  const safe = name?.replace(/[/\\]/g, '_').trim();
  return safe ? safe : null;
}

/**
 * Downloads an authenticated file (the request needs the access token, so a plain link cannot do it): fetch, then a
 * blob behind an object URL clicked as a download, named by the response's Content-Disposition. Resolves to the name.
 */
export async function downloadFile(api: ApiClient, path: string, fallbackName: string): Promise<string> {
  const response = await api.authorized(path, { headers: { Accept: '*/*' } });
  if (!response.ok) throw await toApiError(response);
  const name = filenameFromContentDisposition(response.headers.get('content-disposition')) ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  try {
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    link.style.display = 'none';
    document.body.appendChild(link);
    link.click();
    link.remove();
  } finally {
    // The click has handed the blob to the browser's download; the URL can go once this task ends.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
  return name;
}

/** Downloads one conversation: `json` (its whole tree) or `markdown` (the current branch). */
export function exportConversation(api: ApiClient, conversationId: string, format: 'json' | 'markdown'): Promise<string> {
  const extension = format === 'json' ? 'json' : 'md';
  return downloadFile(
    api,
    `/api/conversations/${encodeURIComponent(conversationId)}/export?format=${format}`,
    `parley-${conversationId}.${extension}`,
  );
}

/** Downloads every conversation of the signed-in user as one JSON document. */
export function exportAllData(api: ApiClient): Promise<string> {
  return downloadFile(api, '/api/users/me/export', 'parley-export.json');
}

/** Sends a file (Parley's export or ChatGPT's conversations.json) as the body of `POST /api/conversations/import`. */
export async function importConversations(api: ApiClient, file: Blob): Promise<ImportResult> {
  const response = await api.authorized('/api/conversations/import', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: file,
  });
  if (!response.ok) throw await toApiError(response);
  return (await response.json()) as ImportResult;
}
