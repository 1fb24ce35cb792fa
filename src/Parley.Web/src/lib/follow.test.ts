import { describe, expect, it } from 'vitest';
import { ApiError } from './errors';
import { followTurn, reconnectDelay, type OpenTurnStream } from './follow';
import { parseSse, toChatEvents } from './sse';
import type { ChatEvent } from './types';

async function* events(list: ChatEvent[], thenFail?: Error): AsyncGenerator<ChatEvent> {
  for (const event of list) yield event;
  if (thenFail) throw thenFail;
}

const delta = (text: string, id: string): ChatEvent => ({ type: 'delta', text, id });

describe('followTurn', () => {
  it('reconnects after a broken stream with the last event id received, waiting longer each time', async () => {
    const asked: (string | null)[] = [];
    const waits: number[] = [];
    const reconnecting: boolean[] = [];
    const seen: string[] = [];
    const open: OpenTurnStream = async (last) => {
      asked.push(last);
      switch (asked.length) {
        case 1:
          return events([delta('one ', '3.4')], new TypeError('network error'));
        case 2:
          throw new TypeError('Failed to fetch');
        case 3:
          return events([delta('two', '3.7')]); // ends without a final event: reconnect again
        default:
          return events([{ type: 'assistant', assistantMessage: {} as never, tokenBalance: 1, id: '3.8' }]);
      }
    };

    const end = await followTurn(
      open,
      '3.0',
      { onEvent: (e) => seen.push(e.type === 'delta' ? e.text : e.type), onReconnecting: (r) => reconnecting.push(r) },
      new AbortController().signal,
      async (ms) => void waits.push(ms),
    );

    expect(end).toEqual({ kind: 'final', lastEventId: '3.8' });
    expect(asked).toEqual(['3.0', '3.4', '3.4', '3.7']);
    expect(seen).toEqual(['one ', 'two', 'assistant']);
    expect(waits).toEqual([reconnectDelay(0), reconnectDelay(1), reconnectDelay(0)]);
    expect(reconnecting).toEqual([false, true, true, false, true, false]);
  });

  it('ends when no turn runs any more (204) and stops on an answer that waiting will not change', async () => {
    const signal = new AbortController().signal;
    const handlers = { onEvent: () => undefined, onReconnecting: () => undefined };
    expect(await followTurn(async () => null, '1.2', handlers, signal)).toEqual({ kind: 'ended', lastEventId: '1.2' });

    const notFound = new ApiError(404, { status: 404, title: 'Not Found' });
    const end = await followTurn(async () => Promise.reject(notFound), null, handlers, signal);
    expect(end).toEqual({ kind: 'failed', lastEventId: null, error: notFound });
  });

  it('backs off from 500 ms doubling to at most 8 s', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map(reconnectDelay)).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });
});

describe('event ids', () => {
  it('travel with each chat event, whatever the chunk boundaries', async () => {
    const text = 'id: 2.0\nevent: user\ndata: {"userMessage":{"id":"u","content":"x","role":"user"},"tokenBalance":1}\n\nid: 2.5\nevent: delta\ndata: {"text":"hello"}\n\n';
    const chunks = [text.slice(0, 3), text.slice(3, 50), text.slice(50, 101), text.slice(101)];
    const seen: (string | undefined)[] = [];
    for await (const event of toChatEvents(parseSse((async function* () { yield* chunks; })()))) seen.push(event.id);
    expect(seen).toEqual(['2.0', '2.5']);
  });
});
