import { act, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation, Message } from '../lib/types';
import { controllableSse, json, msg, problem, sseEvent, testClient, type Handler } from '../test/fake-fetch';
import { renderWithApi } from '../test/render';
import { Chat } from './chat';

type Sse = ReturnType<typeof controllableSse>;

const user1 = (content: string): Message => msg({ id: 'u1', sequence: 1, role: 'user', content });
const assistant1 = (content: string, status: Message['status'] = 'completed'): Message =>
  msg({ id: 'a1', sequence: 2, role: 'assistant', content, status });

function route(method: string, path: string, request: Request) {
  return request.method === method && new URL(request.url).pathname === path;
}

function setup(handler: Handler, conversationId: string | null = 'c1') {
  const callbacks = {
    onConversationCreated: vi.fn<(c: Conversation) => void>(),
    onActivity: vi.fn<(id: string) => void>(),
    onBalance: vi.fn<(n: number) => void>(),
    onRefreshBalance: vi.fn<() => void>(),
  };
  const client = testClient(handler);
  const rendered = renderWithApi(<Chat conversationId={conversationId} {...callbacks} />, client.api);
  return { ...rendered, ...client, ...callbacks };
}

const messages = () => screen.queryAllByTestId('message');
const textOf = (m: HTMLElement) => m.textContent;
const texts = () => messages().map((m) => `${m.dataset.role}:${m.dataset.status}:${textOf(m)}`);

describe('Chat', () => {
  let streams: Sse[];
  beforeEach(() => {
    streams = [];
  });

  const emptyHistory: Handler = (request) =>
    route('GET', '/api/conversations/c1/messages', request) ? json({ items: [], nextCursor: null }) : problem(500);

  it('streams a reply into the assistant message as deltas arrive', async () => {
    const { user, onBalance, onActivity, requests } = setup((request, signal) => {
      if (route('POST', '/api/conversations/c1/messages', request)) {
        const sse = controllableSse(signal);
        streams.push(sse);
        return sse.response;
      }
      return emptyHistory(request, signal);
    });
    const input = await screen.findByTestId('message-input');
    await waitFor(() => expect(input).toBeEnabled());
    await user.type(input, 'Hello there{Enter}');

    await waitFor(() => expect(streams).toHaveLength(1));
    const sse = streams[0]!;
    expect(input).toHaveValue('');
    expect(screen.getByTestId('stop')).toBeInTheDocument();
    expect(texts()).toEqual(['user:pending:Hello there', 'assistant:pending:']);

    await act(async () => sse.send(sseEvent('user', { userMessage: user1('Hello there'), tokenBalance: 99 })));
    await waitFor(() => expect(texts()[0]).toBe('user:completed:Hello there'));
    expect(onBalance).toHaveBeenLastCalledWith(99);
    expect(onActivity).toHaveBeenCalledWith('c1');

    await act(async () => sse.send(sseEvent('delta', { text: 'Hello ' })));
    await waitFor(() => expect(texts()[1]).toBe('assistant:pending:Hello'));
    await act(async () => sse.send(sseEvent('delta', { text: 'there' })));
    await waitFor(() => expect(texts()[1]).toBe('assistant:pending:Hello there'));

    await act(async () => {
      sse.send(sseEvent('assistant', { assistantMessage: assistant1('Hello there'), tokenBalance: 99 }));
      sse.close();
    });
    await waitFor(() => expect(texts()).toEqual(['user:completed:Hello there', 'assistant:completed:Hello there']));
    expect(screen.queryByTestId('stop')).toBeNull();
    expect(screen.getByTestId('send')).toBeInTheDocument();

    const post = requests.find((r) => r.method === 'POST')!;
    const body = (await post.json()) as { content: string; clientMessageId: string };
    expect(body.content).toBe('Hello there');
    expect(body.clientMessageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('says the user is out of tokens on 402 and keeps the typed text', async () => {
    const { user, onRefreshBalance } = setup((request, signal) =>
      route('POST', '/api/conversations/c1/messages', request)
        ? problem(402, { title: 'Payment Required', detail: 'Insufficient tokens.' })
        : emptyHistory(request, signal),
    );
    const input = await screen.findByTestId('message-input');
    await waitFor(() => expect(input).toBeEnabled());
    await user.type(input, 'An important question{Enter}');

    const error = await screen.findByTestId('error');
    expect(error).toHaveTextContent(/out of tokens/i);
    expect(input).toHaveValue('An important question');
    expect(messages()).toHaveLength(0);
    expect(onRefreshBalance).toHaveBeenCalled();

    await user.click(within(error).getByRole('button', { name: 'Dismiss error' }));
    expect(screen.queryByTestId('error')).toBeNull();
  });

  it('keeps the text on network loss and retries with the same clientMessageId', async () => {
    let attempts = 0;
    const { user, requests } = setup((request, signal) => {
      if (route('POST', '/api/conversations/c1/messages', request)) {
        attempts++;
        if (attempts === 1) throw new TypeError('Failed to fetch');
        const sse = controllableSse(signal);
        sse.send(sseEvent('user', { userMessage: user1('Retry me'), tokenBalance: 5 }));
        sse.send(sseEvent('delta', { text: 'Retry me' }));
        sse.send(sseEvent('assistant', { assistantMessage: assistant1('Retry me'), tokenBalance: 5 }));
        sse.close();
        return sse.response;
      }
      return emptyHistory(request, signal);
    });
    const input = await screen.findByTestId('message-input');
    await waitFor(() => expect(input).toBeEnabled());
    await user.type(input, 'Retry me{Enter}');

    const error = await screen.findByTestId('error');
    expect(error).toHaveTextContent(/could not reach the server/i);
    expect(input).toHaveValue('Retry me');

    await user.click(within(error).getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(texts()).toEqual(['user:completed:Retry me', 'assistant:completed:Retry me']));
    expect(input).toHaveValue('');
    expect(screen.queryByTestId('error')).toBeNull();

    const posts = requests.filter((r) => r.method === 'POST');
    const ids = await Promise.all(posts.map(async (r) => ((await r.json()) as { clientMessageId: string }).clientMessageId));
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
  });

  it('uses a new clientMessageId when the text changed before resending', async () => {
    let attempts = 0;
    const { user, requests } = setup((request, signal) => {
      if (route('POST', '/api/conversations/c1/messages', request)) {
        attempts++;
        return problem(503, { title: 'Unavailable' });
      }
      return emptyHistory(request, signal);
    });
    const input = await screen.findByTestId('message-input');
    await waitFor(() => expect(input).toBeEnabled());
    await user.type(input, 'first{Enter}');
    await screen.findByTestId('error');
    await user.type(input, ' edited{Enter}');
    await waitFor(() => expect(attempts).toBe(2));
    const posts = requests.filter((r) => r.method === 'POST');
    const bodies = await Promise.all(posts.map(async (r) => (await r.json()) as { content: string; clientMessageId: string }));
    expect(bodies.map((b) => b.content)).toEqual(['first', 'first edited']);
    expect(bodies[1]!.clientMessageId).not.toBe(bodies[0]!.clientMessageId);
  });

  it('stops a streaming reply and then shows what the server stored', async () => {
    let historyCalls = 0;
    const { user } = setup((request, signal) => {
      if (route('POST', '/api/conversations/c1/messages', request)) {
        const sse = controllableSse(signal);
        streams.push(sse);
        return sse.response;
      }
      if (route('GET', '/api/conversations/c1/messages', request)) {
        historyCalls++;
        expect(new URL(request.url).searchParams.get('from')).toBe('end');
        return historyCalls === 1
          ? json({ items: [], nextCursor: null })
          : json({ items: [user1('Long story'), assistant1('Once upon', 'cancelled')], nextCursor: null });
      }
      return problem(500);
    });
    const input = await screen.findByTestId('message-input');
    await waitFor(() => expect(input).toBeEnabled());
    await user.type(input, 'Long story{Enter}');
    await waitFor(() => expect(streams).toHaveLength(1));
    await act(async () => {
      streams[0]!.send(sseEvent('user', { userMessage: user1('Long story'), tokenBalance: 1 }));
      streams[0]!.send(sseEvent('delta', { text: 'Once upon' }));
    });
    await waitFor(() => expect(texts()[1]).toBe('assistant:pending:Once upon'));

    await user.click(screen.getByTestId('stop'));
    await waitFor(() => expect(historyCalls).toBe(2));
    await waitFor(() =>
      expect(texts()).toEqual(['user:completed:Long story', 'assistant:cancelled:Once uponStopped']),
    );
    expect(screen.getByTestId('send')).toBeInTheDocument();
    expect(input).toHaveValue('');
  });

  it('shows an error event after acceptance and keeps the later events', async () => {
    const { user, onRefreshBalance } = setup((request, signal) => {
      if (route('POST', '/api/conversations/c1/messages', request)) {
        const sse = controllableSse(signal);
        sse.send(sseEvent('user', { userMessage: user1('Hi'), tokenBalance: 9 }));
        sse.send('event: delta\ndata: {not json}\n\n');
        sse.send(sseEvent('error', { title: 'Bot failed', status: 502, detail: 'The bot crashed; tokens refunded.' }));
        sse.close();
        return sse.response;
      }
      return emptyHistory(request, signal);
    });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const input = await screen.findByTestId('message-input');
    await waitFor(() => expect(input).toBeEnabled());
    await user.type(input, 'Hi{Enter}');
    expect(await screen.findByTestId('error')).toHaveTextContent('The bot crashed; tokens refunded.');
    expect(onRefreshBalance).toHaveBeenCalled();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('malformed "delta"'));
  });

  it('creates the conversation on the first send of a new chat', async () => {
    const conversation: Conversation = {
      id: 'new1',
      title: null,
      createdAt: '2026-11-21T10:00:00Z',
      updatedAt: '2026-11-21T10:00:00Z',
      messageCount: 0,
    };
    const { user, onConversationCreated, requests } = setup((request, signal) => {
      if (route('POST', '/api/conversations', request)) return json(conversation, 201);
      if (route('POST', '/api/conversations/new1/messages', request)) {
        const sse = controllableSse(signal);
        sse.send(sseEvent('user', { userMessage: { ...user1('Start'), conversationId: 'new1' }, tokenBalance: 3 }));
        sse.send(sseEvent('assistant', { assistantMessage: { ...assistant1('Start'), conversationId: 'new1' }, tokenBalance: 3 }));
        sse.close();
        return sse.response;
      }
      return problem(500);
    }, null);
    expect(screen.getByText('How can I help you today?')).toBeInTheDocument();
    await user.type(screen.getByTestId('message-input'), 'Start{Enter}');
    await waitFor(() => expect(texts()).toEqual(['user:completed:Start', 'assistant:completed:Start']));
    expect(onConversationCreated).toHaveBeenCalledExactlyOnceWith(conversation);
    // A new chat loads no history (only the model list for its picker).
    expect(requests.filter((r) => r.method === 'GET').map((r) => new URL(r.url).pathname)).toEqual(['/api/models']);
  });

  it('creates a new chat with the model picked from /api/models', async () => {
    const conversation: Conversation = {
      id: 'new1',
      title: null,
      createdAt: '2026-11-21T10:00:00Z',
      updatedAt: '2026-11-21T10:00:00Z',
      messageCount: 0,
      model: 'small',
    };
    const { user, requests } = setup((request, signal) => {
      if (route('GET', '/api/models', request)) {
        return json({
          items: [
            { id: 'large', contextTokens: 8192, maxOutputTokens: 512, isDefault: true },
            { id: 'small', contextTokens: 4096, maxOutputTokens: 256, isDefault: false },
          ],
        });
      }
      if (route('POST', '/api/conversations', request)) return json(conversation, 201);
      if (route('POST', '/api/conversations/new1/messages', request)) {
        const sse = controllableSse(signal);
        sse.send(sseEvent('user', { userMessage: { ...user1('Hi'), conversationId: 'new1' }, tokenBalance: 3 }));
        sse.close();
        return sse.response;
      }
      return problem(500);
    }, null);
    const picker = await screen.findByTestId('model-picker');
    await waitFor(() => expect(picker).toHaveValue('large'));
    await user.selectOptions(picker, 'small');
    await user.type(screen.getByTestId('message-input'), 'Hi{Enter}');
    await waitFor(() => expect(requests.some((r) => route('POST', '/api/conversations', r))).toBe(true));
    const created = requests.find((r) => route('POST', '/api/conversations', r))!;
    expect(await created.json()).toEqual({ model: 'small' });
  });

  it('stops a reply through the stop endpoint and shows the stored, cancelled part', async () => {
    const { user, requests } = setup((request, signal) => {
      if (route('POST', '/api/conversations/c1/messages', request)) {
        const sse = controllableSse(signal);
        streams.push(sse);
        return sse.response;
      }
      if (route('POST', '/api/conversations/c1/stop', request)) {
        // The server stops the turn; its stream ends with the stored, cancelled reply.
        queueMicrotask(() => {
          streams[0]!.send(sseEvent('assistant', {
            assistantMessage: { ...assistant1('Once upon', 'cancelled'), finishReason: 'cancelled' },
            tokenBalance: 1,
          }));
          streams[0]!.close();
        });
        return new Response(null, { status: 202 });
      }
      return emptyHistory(request, signal);
    });
    const input = await screen.findByTestId('message-input');
    await waitFor(() => expect(input).toBeEnabled());
    await user.type(input, 'Long story{Enter}');
    await waitFor(() => expect(streams).toHaveLength(1));
    await act(async () => {
      streams[0]!.send(sseEvent('user', { userMessage: user1('Long story'), tokenBalance: 1 }));
      streams[0]!.send(sseEvent('delta', { text: 'Once upon' }));
    });
    await waitFor(() => expect(texts()[1]).toBe('assistant:pending:Once upon'));

    await user.click(screen.getByTestId('stop'));

    await waitFor(() => expect(texts()).toEqual(['user:cancelled:Long story', 'assistant:cancelled:Once uponStopped']));
    expect(requests.some((r) => route('POST', '/api/conversations/c1/stop', r))).toBe(true);
    expect(screen.queryByTestId('error')).toBeNull();
  });

  it('loads the newest page first and older pages on demand', async () => {
    const older = [msg({ id: 'o1', sequence: 1, content: 'oldest' }), msg({ id: 'o2', sequence: 2, role: 'assistant', content: 'older' })];
    const newer = [msg({ id: 'n3', sequence: 3, content: 'newer' }), msg({ id: 'n4', sequence: 4, role: 'assistant', content: 'newest' })];
    const { user, requests } = setup((request) => {
      const url = new URL(request.url);
      if (url.pathname !== '/api/conversations/c1/messages') return problem(500);
      return url.searchParams.get('cursor') === 'older-page'
        ? json({ items: older, nextCursor: null })
        : json({ items: newer, nextCursor: 'older-page' });
    });
    await waitFor(() => expect(texts()).toEqual(['user:completed:newer', 'assistant:completed:newest']));
    await user.click(screen.getByRole('button', { name: 'Load older messages' }));
    await waitFor(() =>
      expect(messages().map(textOf)).toEqual(['oldest', 'older', 'newer', 'newest']),
    );
    expect(screen.queryByRole('button', { name: 'Load older messages' })).toBeNull();
    expect(Object.fromEntries(new URL(requests[0]!.url).searchParams)).toEqual({ from: 'end', limit: '30' });
  });

  it('says so when the conversation does not exist', async () => {
    setup(() => problem(404, { title: 'Not Found' }));
    expect(await screen.findByText('Conversation not found')).toBeInTheDocument();
  });
});
