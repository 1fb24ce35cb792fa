import { ApiError, NetworkError, isAbortError } from './errors';
import type { ChatEvent } from './types';

/** Opens GET /api/conversations/{id}/stream after `lastEventId`; null when no turn is running (204). */
export type OpenTurnStream = (lastEventId: string | null, signal: AbortSignal) => Promise<AsyncIterable<ChatEvent> | null>;

export interface FollowHandlers {
  /** Each event of the turn, in order, never one twice (the stream resumes after the last id received). */
  onEvent: (event: ChatEvent) => void;
  /** True while the connection is lost and being re-established; false once events flow again. */
  onReconnecting: (reconnecting: boolean) => void;
}

export type FollowEnd =
  /** The turn's final event (`assistant` or `error`) arrived. */
  | { kind: 'final'; lastEventId: string | null }
  /** No turn runs any more (204): it ended while the connection was down; the stored messages tell how. */
  | { kind: 'ended'; lastEventId: string | null }
  | { kind: 'aborted'; lastEventId: string | null }
  /** An answer that waiting will not change (404, session over…). */
  | { kind: 'failed'; lastEventId: string | null; error: unknown };

/** Reconnection waits: 500 ms, doubling up to 8 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(500 * 2 ** attempt, 8_000);
}

/** Waits `ms`, or less when the browser comes back online or `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener('online', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener('online', done);
    signal?.addEventListener('abort', done);
  });
}

/** A lost connection, a broken stream or a busy server: worth reconnecting for. */
export function isRetryable(error: unknown): boolean {
  return (
    error instanceof NetworkError ||
    error instanceof TypeError ||
    (error instanceof ApiError && (error.status >= 500 || error.status === 429))
  );
}

/**
 * Follows a running turn to its end: opens the turn's stream after `lastEventId`, passes its events on, and when the
 * connection is lost (or the stream ends without a final event) reconnects with the last event id received as
 * `Last-Event-ID`, waiting `reconnectDelay` between attempts (reset once an event arrives).
 */
export async function followTurn(
  open: OpenTurnStream,
  lastEventId: string | null,
  handlers: FollowHandlers,
  signal: AbortSignal,
  wait: (ms: number, signal: AbortSignal) => Promise<void> = pause,
): Promise<FollowEnd> {
  let last = lastEventId;
  for (let attempt = 0; ; ) {
    if (signal.aborted) return { kind: 'aborted', lastEventId: last };
    try {
      const events = await open(last, signal);
      handlers.onReconnecting(false);
      if (events === null) return { kind: 'ended', lastEventId: last };
      for await (const event of events) {
        if (event.id) last = event.id;
        attempt = 0;
        handlers.onEvent(event);
        if (event.type === 'assistant' || event.type === 'error') return { kind: 'final', lastEventId: last };
      }
    } catch (caught) {
      if (isAbortError(caught) || signal.aborted) return { kind: 'aborted', lastEventId: last };
      if (!isRetryable(caught)) {
        handlers.onReconnecting(false);
        return { kind: 'failed', lastEventId: last, error: caught };
      }
    }
    handlers.onReconnecting(true);
    await wait(reconnectDelay(attempt++), signal);
  }
}
