import { ApiClient } from '../lib/api';
import { SessionStore } from '../lib/session';
import type { Message } from '../lib/types';

export type Handler = (request: Request, signal: AbortSignal | undefined) => Response | Promise<Response>;

/** A fetch that routes requests to `handler` and records them. */
export function fakeFetch(handler: Handler) {
  const requests: Request[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    // The signal is handed over separately: jsdom's AbortSignal is not the one Node's Request accepts.
    const { signal, ...rest } = init;
    const request = new Request(new URL(input instanceof Request ? input.url : input, 'http://parley.test'), rest);
    requests.push(request.clone());
    if (signal?.aborted) throw new DOMException('The operation was aborted.', 'AbortError');
    return handler(request, signal ?? undefined);
  };
  return { fetch: fetchImpl, requests };
}

export function memoryStorage(): Storage {
  const data = new Map<string, string>();
  return {
    get length() {
      return data.size;
    },
    clear: () => data.clear(),
    getItem: (key) => data.get(key) ?? null,
    key: (index) => [...data.keys()][index] ?? null,
    removeItem: (key) => void data.delete(key),
    setItem: (key, value) => void data.set(key, String(value)),
  };
}

/** An API client over a fake fetch, optionally signed in with access token `access-1`. */
export function testClient(handler: Handler, { signedIn = true }: { signedIn?: boolean } = {}) {
  const { fetch, requests } = fakeFetch(handler);
  const session = new SessionStore(memoryStorage());
  if (signedIn) session.set({ accessToken: 'access-1', refreshToken: 'refresh-1', tokenType: 'Bearer', expiresIn: 900 });
  return { api: new ApiClient(session, fetch), session, requests };
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

export function problem(status: number, body: Record<string, unknown> = {}): Response {
  return new Response(JSON.stringify({ status, title: 'Error', ...body }), {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
  });
}

export function sseEvent(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A text/event-stream response whose body the test writes to (and closes) when it wants. */
export function controllableSse(signal?: AbortSignal) {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  // Like a real fetch: aborting the request errors the body being read.
  signal?.addEventListener('abort', () => controller.error(new DOMException('The operation was aborted.', 'AbortError')));
  return {
    response: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    send: (text: string) => controller.enqueue(encoder.encode(text)),
    close: () => controller.close(),
    fail: (reason: unknown) => controller.error(reason),
  };
}

export function sseResponse(text: string): Response {
  return new Response(text, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

let nextSequence = 1;
export function msg(overrides: Partial<Message> = {}): Message {
  const sequence = overrides.sequence ?? nextSequence++;
  return {
    id: `m${sequence}`,
    conversationId: 'c1',
    sequence,
    role: 'user',
    content: `message ${sequence}`,
    status: 'completed',
    createdAt: '2026-11-21T10:00:00Z',
    ...overrides,
  };
}
