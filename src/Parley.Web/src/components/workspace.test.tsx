import { act, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Conversation, Message } from '../lib/types';
import { json, msg, problem, sseEvent, sseResponse, testClient, type Handler } from '../test/fake-fetch';
import { renderWithApi } from '../test/render';
import { App } from '../app';

/** A small in-memory Parley backend: enough for the sidebar, routing and a turn. */
function fakeBackend(extra = 0) {
  let balance = 100;
  const conversations: Conversation[] = [
    { id: 'c2', title: 'Second', createdAt: '2026-11-20T10:00:00Z', updatedAt: '2026-11-20T10:00:00Z', messageCount: 2 },
    { id: 'c1', title: 'First', createdAt: '2026-11-19T10:00:00Z', updatedAt: '2026-11-19T10:00:00Z', messageCount: 2 },
  ];
  for (let i = 0; i < extra; i++) {
    conversations.push({ id: `old${i}`, title: `Old ${i}`, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', messageCount: 0 });
  }
  const messages: Record<string, Message[]> = {
    c1: [msg({ id: 'c1-1', conversationId: 'c1', sequence: 1, content: 'first question' })],
    c2: [msg({ id: 'c2-1', conversationId: 'c2', sequence: 1, content: 'second question' })],
  };
  const handler: Handler = async (request) => {
    const url = new URL(request.url);
    const path = url.pathname;
    const m = /^\/api\/conversations\/([^/]+)(\/messages)?$/.exec(path);
    if (path === '/api/users/me') return json({ id: 'u', userName: 'ada', email: null, tokenBalance: balance, createdAt: '' });
    if (path === '/api/users/me/balance') return json({ tokenBalance: balance, costPerMessage: 1 });
    if (path === '/api/conversations' && request.method === 'GET') {
      // Pages of `limit`; the cursor is the index to continue from.
      const limit = Number(url.searchParams.get('limit') ?? 30);
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const end = start + limit;
      return json({ items: conversations.slice(start, end), nextCursor: end < conversations.length ? String(end) : null });
    }
    if (path === '/api/auth/logout') return new Response(null, { status: 204 });
    if (!m) return problem(404);
    const id = m[1]!;
    const index = conversations.findIndex((c) => c.id === id);
    if (index < 0) return problem(404);
    if (!m[2]) {
      if (request.method === 'GET') return json(conversations[index]);
      if (request.method === 'PATCH') {
        const { title } = (await request.json()) as { title: string };
        conversations[index] = { ...conversations[index]!, title };
        return json(conversations[index]);
      }
      if (request.method === 'DELETE') {
        conversations.splice(index, 1);
        return new Response(null, { status: 204 });
      }
    }
    if (request.method === 'GET') return json({ items: messages[id] ?? [], nextCursor: null });
    const { content } = (await request.json()) as { content: string };
    balance -= 1;
    const user = msg({ id: `${id}-u`, conversationId: id, sequence: 10, content });
    const reply = msg({ id: `${id}-a`, conversationId: id, sequence: 11, role: 'assistant', content });
    messages[id] = [...(messages[id] ?? []), user, reply];
    const [moved] = conversations.splice(index, 1);
    conversations.unshift({ ...moved!, updatedAt: new Date().toISOString(), messageCount: moved!.messageCount + 2 });
    return sseResponse(
      sseEvent('user', { userMessage: user, tokenBalance: balance }) +
        sseEvent('delta', { text: content }) +
        sseEvent('assistant', { assistantMessage: reply, tokenBalance: balance }),
    );
  };
  return { handler, conversations };
}

const titles = () => screen.getAllByTestId('conversation-item').map((li) => li.textContent);

describe('Workspace', () => {
  beforeEach(() => window.history.replaceState(null, '', '/'));
  afterEach(() => window.history.replaceState(null, '', '/'));

  it('selects conversations through the URL, and Back goes to the previous one', async () => {
    window.history.replaceState(null, '', '/c/c1');
    const backend = fakeBackend();
    const { api } = testClient(backend.handler);
    const { user } = renderWithApi(<App />, api);

    expect(await screen.findByText('first question')).toBeInTheDocument();
    await waitFor(() => expect(titles()).toEqual(['Second', 'First']));
    expect(screen.getByTestId('conversation-title')).toHaveTextContent('First');

    await user.click(screen.getByRole('link', { name: 'Second' }));
    expect(window.location.pathname).toBe('/c/c2');
    expect(await screen.findByText('second question')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Second' })).toHaveAttribute('aria-current', 'page');

    await act(async () => {
      window.history.back();
      await new Promise((resolve) => window.addEventListener('popstate', resolve, { once: true }));
    });
    expect(window.location.pathname).toBe('/c/c1');
    expect(await screen.findByText('first question')).toBeInTheDocument();
  });

  it('moves a conversation to the top after a turn and updates the balance', async () => {
    window.history.replaceState(null, '', '/c/c1');
    const backend = fakeBackend();
    const { api } = testClient(backend.handler);
    const { user } = renderWithApi(<App />, api);
    await screen.findByText('first question');
    await waitFor(() => expect(screen.getByTestId('token-balance')).toHaveTextContent('100'));

    const input = screen.getByTestId('message-input');
    await waitFor(() => expect(input).toBeEnabled());
    await user.type(input, 'again{Enter}');
    await waitFor(() => expect(titles()).toEqual(['First', 'Second']));
    expect(screen.getByTestId('token-balance')).toHaveTextContent('99');
    expect(screen.getAllByTestId('message').map((m) => m.dataset.role)).toEqual(['user', 'user', 'assistant']);
  });

  it('renames inline with Enter, and Escape cancels', async () => {
    const backend = fakeBackend();
    const { api } = testClient(backend.handler);
    const { user } = renderWithApi(<App />, api);
    await waitFor(() => expect(titles()).toEqual(['Second', 'First']));

    await user.click(screen.getByRole('button', { name: 'Rename “First”' }));
    const field = screen.getByRole('textbox', { name: 'Conversation title' });
    expect(field).toHaveFocus();
    await user.clear(field);
    await user.type(field, 'Renamed{Enter}');
    await waitFor(() => expect(titles()).toEqual(['Second', 'Renamed']));
    expect(backend.conversations.find((c) => c.id === 'c1')?.title).toBe('Renamed');

    await user.click(screen.getByRole('button', { name: 'Rename “Second”' }));
    await user.type(screen.getByRole('textbox', { name: 'Conversation title' }), ' nope{Escape}');
    expect(titles()).toEqual(['Second', 'Renamed']);
    expect(backend.conversations.find((c) => c.id === 'c2')?.title).toBe('Second');
  });

  it('deletes only after confirmation and leaves a deleted open conversation', async () => {
    window.history.replaceState(null, '', '/c/c2');
    const backend = fakeBackend();
    const { api } = testClient(backend.handler);
    const { user } = renderWithApi(<App />, api);
    await screen.findByText('second question');

    await user.click(screen.getByRole('button', { name: 'Delete “Second”' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Delete conversation?' });
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(titles()).toEqual(['Second', 'First']);

    await user.click(screen.getByRole('button', { name: 'Delete “Second”' }));
    await user.click(screen.getByTestId('confirm-delete'));
    await waitFor(() => expect(titles()).toEqual(['First']));
    expect(window.location.pathname).toBe('/');
    expect(backend.conversations.map((c) => c.id)).toEqual(['c1']);
  });

  it('pages the conversation list with the server cursor', async () => {
    const backend = fakeBackend(40); // 42 conversations: a first page of 30, then 12 more
    const { api, requests } = testClient(backend.handler);
    const { user } = renderWithApi(<App />, api);
    await waitFor(() => expect(screen.getAllByTestId('conversation-item')).toHaveLength(30));
    await user.click(screen.getByRole('button', { name: 'Show more' }));
    await waitFor(() => expect(screen.getAllByTestId('conversation-item')).toHaveLength(42));
    expect(screen.queryByRole('button', { name: 'Show more' })).toBeNull();
    const listCalls = requests.map((r) => new URL(r.url)).filter((u) => u.pathname === '/api/conversations');
    expect(listCalls.map((u) => u.searchParams.get('cursor'))).toEqual([null, '30']);
  });

  it('logs out to the login screen', async () => {
    const backend = fakeBackend();
    const { api, session } = testClient(backend.handler);
    const { user } = renderWithApi(<App />, api);
    await user.click(await screen.findByTestId('logout'));
    expect(await screen.findByTestId('login-username')).toBeInTheDocument();
    expect(session.get()).toBeNull();
  });
});
