import type { ChatEvent, Message } from './types';

/** One dispatched Server-Sent Event. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

type Chunks = ReadableStream<string> | AsyncIterable<string>;

async function* iterate(chunks: Chunks): AsyncGenerator<string> {
  if (!('getReader' in chunks)) {
    yield* chunks;
    return;
  }
  const reader = chunks.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Runs on normal end, on error, and when the consumer stops early (return()).
    reader.releaseLock();
  }
}

/**
 * Parses a text stream as Server-Sent Events, following the WHATWG event-stream rules:
 * lines end in CRLF, LF or CR (a CRLF may be split across chunks); lines starting with ':' are comments;
 * `data` lines accumulate, joined by '\n'; an empty line dispatches the event; an event without data is
 * not dispatched; an unfinished event at the end of the stream is dropped.
 *
 * Chunks may end anywhere: the unfinished tail of the last line is kept as the buffer until more text arrives.
 */
export async function* parseSse(chunks: Chunks): AsyncGenerator<SseMessage> {
  let buffer = '';
  let first = true;
  let skipLeadingLf = false; // the previous chunk ended in '\r': a '\n' opening this one belongs to it

  let eventType = '';
  let data = '';
  let hasData = false;
  let lastId: string | undefined;

  for await (let chunk of iterate(chunks)) {
    if (first && chunk.length > 0) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    if (skipLeadingLf && chunk.length > 0) {
      if (chunk[0] === '\n') chunk = chunk.slice(1);
      skipLeadingLf = false;
    }
    buffer += chunk;

    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      const line = buffer.slice(start, i);
      if (c === '\r') {
        if (i + 1 < buffer.length) {
          if (buffer[i + 1] === '\n') i++;
        } else {
          skipLeadingLf = true;
        }
      }
      start = i + 1;

      if (line === '') {
        if (hasData) {
          const message: SseMessage = { event: eventType || 'message', data: data.slice(0, -1) };
          if (lastId !== undefined) message.id = lastId;
          yield message;
        }
        eventType = '';
        data = '';
        hasData = false;
        continue;
      }
      if (line.startsWith(':')) continue; // comment (often a keep-alive)

      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);

      switch (field) {
        case 'event':
          eventType = value;
          break;
        case 'data':
          data += value + '\n';
          hasData = true;
          break;
        case 'id':
          if (!value.includes('\0')) lastId = value;
          break;
        default:
          break; // 'retry' and unknown fields are ignored
      }
    }
    buffer = buffer.slice(start);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMessage(value: unknown): value is Message {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    typeof value.content === 'string' &&
    (value.role === 'user' || value.role === 'assistant')
  );
}

/**
 * Turns SSE messages into the typed events of a chat turn. A known event whose data is not valid
 * JSON or lacks required fields becomes an `invalid` event; the events after it are unaffected.
 * Unknown event names are skipped, so the server can add events without breaking older clients.
 */
export async function* toChatEvents(messages: AsyncIterable<SseMessage>): AsyncGenerator<ChatEvent> {
  for await (const message of messages) {
    for (const event of toChatEvent(message)) {
      // The SSE id (when the server sent one) travels with the event, for Last-Event-ID on a reconnect.
      yield message.id === undefined ? event : { ...event, id: message.id };
    }
  }
}

/** The chat event of one SSE message: none for an unknown event name. */
function* toChatEvent(message: SseMessage): Generator<ChatEvent> {
  const { event, data } = message;
  if (event !== 'user' && event !== 'delta' && event !== 'assistant' && event !== 'error') return;

  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    yield { type: 'invalid', event, data, reason: 'data is not valid JSON' };
    return;
  }
  if (!isObject(json)) {
    yield { type: 'invalid', event, data, reason: 'data is not a JSON object' };
    return;
  }

  switch (event) {
    case 'user':
      if (isMessage(json.userMessage) && typeof json.tokenBalance === 'number') {
        yield { type: 'user', userMessage: json.userMessage, tokenBalance: json.tokenBalance };
      } else {
        yield { type: 'invalid', event, data, reason: 'expected {userMessage, tokenBalance}' };
      }
      break;
    case 'delta':
      if (typeof json.text === 'string') {
        yield { type: 'delta', text: json.text };
      } else {
        yield { type: 'invalid', event, data, reason: 'expected {text}' };
      }
      break;
    case 'assistant':
      if (isMessage(json.assistantMessage) && typeof json.tokenBalance === 'number') {
        yield { type: 'assistant', assistantMessage: json.assistantMessage, tokenBalance: json.tokenBalance };
      } else {
        yield { type: 'invalid', event, data, reason: 'expected {assistantMessage, tokenBalance}' };
      }
      break;
    case 'error':
      yield { type: 'error', problem: json };
      break;
  }
}

/** Decodes a UTF-8 byte stream (a fetch response body) into chat events. */
export function readChatEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ChatEvent> {
  const text = body.pipeThrough(new TextDecoderStream() as ReadableWritablePair<string, Uint8Array>);
  return toChatEvents(parseSse(text));
}
