import { act, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { Chat } from '../components/chat';
import type { Conversation, Message } from '../lib/types';
import { controllableSse, json, msg, problem, sseEvent, testClient, type Handler } from '../test/fake-fetch';
import { renderWithApi } from '../test/render';

// The send flow of hooks/use-chat.ts, through the Chat component that uses it.

function route(method: string, path: string, request: Request) {
  return request.method === method && new URL(request.url).pathname === path;
}

function setup(handler: Handler, conversationId: string | null) {
  const callbacks = {
    onConversationCreated: vi.fn<(c: Conversation) => void>(),
    onActivity: vi.fn<(id: string) => void>(),
    onBalance: vi.fn<(n: number) => void>(),
    onRefreshBalance: vi.fn<() => void>(),
  };
  const client = testClient(handler);
  return { ...renderWithApi(<Chat conversationId={conversationId} {...callbacks} />, client.api), ...client, ...callbacks };
}

const texts = () => screen.queryAllByTestId('message').map((m) => `${m.dataset.role}:${m.dataset.status}:${m.textContent}`);

const conversation: Conversation = {
  id: 'c9',
  title: null,
  createdAt: '2026-11-27T10:00:00Z',
  updatedAt: '2026-11-27T10:00:00Z',
  messageCount: 0,
};

describe('useChat', () => {
  it('deletes the conversation a refused first send created, and announces nothing', async () => {
    const { user, requests, onConversationCreated, onActivity } = setup((request) => {
      if (route('POST', '/api/conversations', request)) return json(conversation, 201);
      if (route('POST', '/api/conversations/c9/messages', request)) return problem(429, { detail: 'The queue is full.' });
      if (route('GET', '/api/conversations/c9/messages', request)) return json({ items: [], nextCursor: null });
      if (route('DELETE', '/api/conversations/c9', request)) return new Response(null, { status: 204 });
      return problem(500);
    }, null);
    const input = screen.getByTestId('message-input');
    await user.type(input, 'Hi{Enter}');

    expect(await screen.findByTestId('error')).toHaveTextContent('The queue is full.');
    await waitFor(() => expect(requests.some((r) => route('DELETE', '/api/conversations/c9', r))).toBe(true));
    expect(input).toHaveValue('Hi');
    expect(onConversationCreated).not.toHaveBeenCalled();
    expect(onActivity).not.toHaveBeenCalled();
  });

  it('keeps and shows a new conversation whose first turn was stored although its response was lost', async () => {
    const stored: Message[] = [
      msg({ id: 'u1', conversationId: 'c9', sequence: 1, content: 'Hi' }),
      msg({ id: 'a1', conversationId: 'c9', sequence: 2, role: 'assistant', content: 'Hi' }),
    ];
    const { user, requests, onConversationCreated } = setup((request) => {
      if (route('POST', '/api/conversations', request)) return json(conversation, 201);
      if (route('POST', '/api/conversations/c9/messages', request)) throw new TypeError('Failed to fetch');
      if (route('GET', '/api/conversations/c9/messages', request)) return json({ items: stored, nextCursor: null });
      if (route('GET', '/api/conversations/c9', request)) return json({ ...conversation, messageCount: 2 });
      return problem(500);
    }, null);
    const input = screen.getByTestId('message-input');
    await user.type(input, 'Hi{Enter}');

    await waitFor(() => expect(texts()).toEqual(['user:completed:Hi', 'assistant:completed:Hi']));
    expect(onConversationCreated).toHaveBeenCalledWith({ ...conversation, messageCount: 2 });
    expect(input).toHaveValue('');
    expect(screen.queryByTestId('error')).toBeNull();
    expect(requests.some((r) => r.method === 'DELETE')).toBe(false);
  });

  it('announces a new conversation only once its first turn is accepted', async () => {
    const stored: Message[] = [
      msg({ id: 'u1', conversationId: 'c9', sequence: 1, content: 'Hi' }),
      msg({ id: 'a1', conversationId: 'c9', sequence: 2, role: 'assistant', content: 'Hi' }),
    ];
    let sse!: ReturnType<typeof controllableSse>;
    const { user, onConversationCreated } = setup((request, signal) => {
      if (route('POST', '/api/conversations', request)) return json(conversation, 201);
      if (route('POST', '/api/conversations/c9/messages', request)) {
        sse = controllableSse(signal);
        return sse.response;
      }
      return problem(500);
    }, null);
    await user.type(screen.getByTestId('message-input'), 'Hi{Enter}');
    await waitFor(() => expect(sse).toBeDefined());
    expect(onConversationCreated).not.toHaveBeenCalled();

    await act(async () => sse.send(sseEvent('user', { userMessage: stored[0], tokenBalance: 9 })));
    await waitFor(() => expect(onConversationCreated).toHaveBeenCalledWith(conversation));
    await act(async () => {
      sse.send(sseEvent('assistant', { assistantMessage: stored[1], tokenBalance: 9 }));
      sse.close();
    });
    await waitFor(() => expect(texts()).toEqual(['user:completed:Hi', 'assistant:completed:Hi']));
    expect(screen.getByTestId('reply-announcement')).toHaveTextContent('Reply: Hi');
  });

  it('after a dropped connection, reconnects to the turn with Last-Event-ID and shows the rest of the reply', async () => {
    const userMessage = msg({ id: 'u1', sequence: 1, content: 'Tell me', status: 'pending' });
    const reply = msg({ id: 'a1', sequence: 2, role: 'assistant', content: 'Tell me everything' });
    const follows: (string | null)[] = [];
    let release!: () => void;
    const online = new Promise<void>((resolve) => (release = resolve));
    const { user } = setup(async (request, signal) => {
      if (route('GET', '/api/conversations/c1/messages', request)) return json({ items: [], nextCursor: null });
      if (route('POST', '/api/conversations/c1/messages', request)) {
        const sse = controllableSse(signal);
        sse.send(sseEvent('user', { userMessage, tokenBalance: 5 }, '1.0'));
        sse.send(sseEvent('delta', { text: 'Tell me' }, '1.7'));
        setTimeout(() => sse.fail(new TypeError('network error')), 10);
        return sse.response;
      }
      if (route('GET', '/api/conversations/c1/stream', request)) {
        follows.push(request.headers.get('Last-Event-ID'));
        if (follows.length === 1) throw new TypeError('Failed to fetch'); // still offline
        await online;
        const sse = controllableSse(signal);
        sse.send(sseEvent('delta', { text: ' everything' }, '1.18'));
        sse.send(sseEvent('assistant', { assistantMessage: reply, tokenBalance: 5 }, '1.19'));
        sse.close();
        return sse.response;
      }
      return problem(500);
    }, 'c1');
    const input = await screen.findByTestId('message-input');
    await waitFor(() => expect(input).toBeEnabled());
    await user.type(input, 'Tell me{Enter}');

    expect(await screen.findByTestId('reconnecting')).toHaveTextContent('reconnecting');
    expect(texts()).toEqual(['user:pending:Tell me', 'assistant:pending:Tell me']);
    await waitFor(() => expect(follows).toHaveLength(2));
    release();
    await waitFor(() => expect(texts()).toEqual(['user:completed:Tell me', 'assistant:completed:Tell me everything']));
    expect(follows).toEqual(['1.7', '1.7']);
    expect(screen.queryByTestId('reconnecting')).toBeNull();
    expect(screen.queryByTestId('error')).toBeNull();
    expect(screen.getByTestId('reply-announcement')).toHaveTextContent('Reply: Tell me everything');
  });

  it('shows a reply still being written when the conversation is loaded, continuing from the start of the turn', async () => {
    const userMessage = msg({ id: 'u1', sequence: 1, content: 'Count', status: 'pending' });
    const reply = msg({ id: 'a1', sequence: 2, role: 'assistant', content: 'One. Two three.' });
    let sse!: ReturnType<typeof controllableSse>;
    const { requests } = setup((request, signal) => {
      if (route('GET', '/api/conversations/c1/messages', request)) return json({ items: [userMessage], nextCursor: null });
      if (route('GET', '/api/conversations/c1/stream', request)) {
        sse = controllableSse(signal);
        sse.send(sseEvent('user', { userMessage, tokenBalance: 5 }, '1.0'));
        sse.send(sseEvent('delta', { text: 'One.' }, '1.4'));
        return sse.response;
      }
      if (route('POST', '/api/conversations/c1/stop', request)) return new Response(null, { status: 202 });
      return problem(500);
    }, 'c1');

    await waitFor(() => expect(texts()).toEqual(['user:pending:Count', 'assistant:pending:One.']));
    expect(requests.find((r) => route('GET', '/api/conversations/c1/stream', r))?.headers.get('Last-Event-ID')).toBeNull();
    expect(screen.getByTestId('stop')).toBeInTheDocument();
    await act(async () => {
      sse.send(sseEvent('delta', { text: ' Two three.' }, '1.15'));
      sse.send(sseEvent('assistant', { assistantMessage: reply, tokenBalance: 5 }, '1.16'));
      sse.close();
    });
    await waitFor(() => expect(texts()).toEqual(['user:completed:Count', 'assistant:completed:One. Two three.']));
    expect(screen.queryByTestId('stop')).toBeNull();
  });
});
