// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { parseSse, readChatEvents, toChatEvents, type SseMessage } from './sse';
import type { ChatEvent, Message } from './types';

const encoder = new TextEncoder();

function byteStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

function textStream(chunks: string[]): ReadableStream<string> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const sse = (chunks: string[]) => collect(parseSse(textStream(chunks)));

function splitBytes(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const cuts = [0, ...offsets, bytes.length];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < cuts.length - 1; i++) parts.push(bytes.slice(cuts[i], cuts[i + 1]));
  return parts;
}

const message = (overrides: Partial<Message>): Message => ({
  id: 'm1',
  conversationId: 'c1',
  sequence: 1,
  role: 'user',
  content: 'Grüße 👋 "quoted"\nsecond line',
  status: 'completed',
  createdAt: '2026-11-21T10:00:00Z',
  ...overrides,
});

const userMessage = message({});
const assistantMessage = message({ id: 'm2', sequence: 2, role: 'assistant' });

/** A realistic turn with multi-byte UTF-8, an escaped newline, a comment and a keep-alive. */
const TURN =
  ': stream opened\n\n' +
  `event: user\ndata: ${JSON.stringify({ userMessage, tokenBalance: 99 })}\n\n` +
  `event: delta\ndata: ${JSON.stringify({ text: 'Grüße 👋 ' })}\n\n` +
  ': keep-alive\n\n' +
  `event: delta\ndata: ${JSON.stringify({ text: '"quoted"\nsecond line' })}\n\n` +
  `event: assistant\ndata: ${JSON.stringify({ assistantMessage, tokenBalance: 99 })}\n\n`;

const TURN_EVENTS: ChatEvent[] = [
  { type: 'user', userMessage, tokenBalance: 99 },
  { type: 'delta', text: 'Grüße 👋 ' },
  { type: 'delta', text: '"quoted"\nsecond line' },
  { type: 'assistant', assistantMessage, tokenBalance: 99 },
];

describe('parseSse', () => {
  it('dispatches events on blank lines with their names and data', async () => {
    expect(await sse(['event: a\ndata: 1\n\ndata: 2\n\n'])).toEqual([
      { event: 'a', data: '1' },
      { event: 'message', data: '2' },
    ]);
  });

  it('joins multi-line data with newlines', async () => {
    expect(await sse(['event: x\ndata: line one\ndata: line two\ndata:\ndata: four\n\n'])).toEqual([
      { event: 'x', data: 'line one\nline two\n\nfour' },
    ]);
  });

  it('accepts CRLF, CR and LF line endings, mixed', async () => {
    expect(await sse(['event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\revent: c\ndata: 3\n\n'])).toEqual([
      { event: 'a', data: '1' },
      { event: 'b', data: '2' },
      { event: 'c', data: '3' },
    ]);
  });

  it('treats a CRLF split across two chunks as one line ending', async () => {
    // If the '\n' were read as a second line ending, it would dispatch early and lose the event name.
    expect(await sse(['event: a\r', '\ndata: 1\r', '\n\r', '\n'])).toEqual([{ event: 'a', data: '1' }]);
  });

  it('ignores comments, including comments between fields of one event', async () => {
    expect(await sse([': hello\n\nevent: a\n: in between\ndata: 1\n\n:\n\n'])).toEqual([{ event: 'a', data: '1' }]);
  });

  it('strips exactly one leading space from values and accepts no space', async () => {
    expect(await sse(['data:no-space\n\ndata:  two spaces\n\n'])).toEqual([
      { event: 'message', data: 'no-space' },
      { event: 'message', data: ' two spaces' },
    ]);
  });

  it('does not dispatch events without data, and resets the event name after each dispatch', async () => {
    expect(await sse(['event: lonely\n\ndata: after\n\n'])).toEqual([{ event: 'message', data: 'after' }]);
  });

  it('drops an unfinished event at the end of the stream', async () => {
    expect(await sse(['data: complete\n\ndata: never finished\n'])).toEqual([{ event: 'message', data: 'complete' }]);
  });

  it('ignores unknown fields and a leading byte order mark, and tracks the last id', async () => {
    expect(await sse(['\uFEFFretry: 10\nfoo: bar\nid: 7\ndata: x\n\ndata: y\n\n'])).toEqual([
      { event: 'message', data: 'x', id: '7' },
      { event: 'message', data: 'y', id: '7' },
    ]);
  });

  it('handles a field line with no colon as a field with an empty value', async () => {
    expect(await sse(['data\ndata\n\n'])).toEqual([{ event: 'message', data: '\n' }]);
  });
});

describe('readChatEvents over bytes', () => {
  const bytes = encoder.encode(TURN);
  const read = (chunks: Uint8Array[]) => collect(readChatEvents(byteStream(chunks)));

  it('parses a whole turn in one chunk', async () => {
    expect(await read([bytes])).toEqual(TURN_EVENTS);
  });

  it('gives the same events when the stream is split at every byte offset', async () => {
    for (let offset = 1; offset < bytes.length; offset++) {
      const events = await read(splitBytes(bytes, [offset]));
      expect(events, `split at byte ${offset}`).toEqual(TURN_EVENTS);
    }
  });

  it('gives the same events when every byte arrives on its own', async () => {
    const single = Array.from(bytes, (_, i) => bytes.slice(i, i + 1));
    expect(await read(single)).toEqual(TURN_EVENTS);
  });

  it('gives the same events for many random three-way splits (seeded)', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let run = 0; run < 300; run++) {
      const offsets = [1 + Math.floor(random() * (bytes.length - 2)), 1 + Math.floor(random() * (bytes.length - 2))];
      offsets.sort((a, b) => a - b);
      expect(await read(splitBytes(bytes, offsets)), `splits at ${offsets.join(',')}`).toEqual(TURN_EVENTS);
    }
  });

  it('gives the same events with CRLF line endings split at every offset', async () => {
    const crlf = encoder.encode(TURN.replace(/\n\n/g, '\r\n\r\n').replace(/\n(?=[a-z:])/g, '\r\n'));
    expect(new TextDecoder().decode(crlf)).toContain('\r\n\r\n');
    for (let offset = 1; offset < crlf.length; offset++) {
      expect(await read(splitBytes(crlf, [offset])), `split at byte ${offset}`).toEqual(TURN_EVENTS);
    }
  });
});

describe('toChatEvents', () => {
  async function events(messages: SseMessage[]): Promise<ChatEvent[]> {
    async function* source() {
      yield* messages;
    }
    return collect(toChatEvents(source()));
  }

  it('reports a malformed event and keeps every event after it', async () => {
    const raw =
      'event: delta\ndata: {"text":"a"}\n\n' +
      'event: delta\ndata: {"text": broken\n\n' +
      'event: delta\ndata: {"text":"b"}\n\n' +
      `event: assistant\ndata: ${JSON.stringify({ assistantMessage, tokenBalance: 5 })}\n\n`;
    const result = await collect(toChatEvents(parseSse(textStream([raw]))));
    expect(result).toEqual([
      { type: 'delta', text: 'a' },
      { type: 'invalid', event: 'delta', data: '{"text": broken', reason: 'data is not valid JSON' },
      { type: 'delta', text: 'b' },
      { type: 'assistant', assistantMessage, tokenBalance: 5 },
    ]);
  });

  it('keeps following events when a malformed event is split across chunks', async () => {
    const raw = 'event: delta\ndata: {oops\n\nevent: delta\ndata: {"text":"after"}\n\n';
    for (let offset = 1; offset < raw.length; offset++) {
      const result = await collect(toChatEvents(parseSse(textStream([raw.slice(0, offset), raw.slice(offset)]))));
      expect(result.map((e) => e.type), `split at ${offset}`).toEqual(['invalid', 'delta']);
      expect(result[1]).toEqual({ type: 'delta', text: 'after' });
    }
  });

  it('rejects events whose JSON lacks the required fields', async () => {
    expect(
      await events([
        { event: 'delta', data: '{"txt":"x"}' },
        { event: 'user', data: '{"tokenBalance":1}' },
        { event: 'assistant', data: '[]' },
      ]),
    ).toEqual([
      { type: 'invalid', event: 'delta', data: '{"txt":"x"}', reason: 'expected {text}' },
      { type: 'invalid', event: 'user', data: '{"tokenBalance":1}', reason: 'expected {userMessage, tokenBalance}' },
      { type: 'invalid', event: 'assistant', data: '[]', reason: 'data is not a JSON object' },
    ]);
  });

  it('passes error events through as problem details', async () => {
    const problem = { type: 'about:blank', title: 'Bot failed', status: 502, detail: 'Upstream timed out' };
    expect(await events([{ event: 'error', data: JSON.stringify(problem) }])).toEqual([{ type: 'error', problem }]);
  });

  it('skips unknown event names', async () => {
    expect(
      await events([
        { event: 'ping', data: '{}' },
        { event: 'message', data: 'hello' },
        { event: 'delta', data: '{"text":"x"}' },
      ]),
    ).toEqual([{ type: 'delta', text: 'x' }]);
  });
});
