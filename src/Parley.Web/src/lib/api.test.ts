import { describe, expect, it } from 'vitest';
import { controllableSse, json, problem, sseEvent, testClient } from '../test/fake-fetch';
import { ApiError, NetworkError, SessionExpiredError } from './errors';
import type { ChatEvent } from './types';

const tokens = (n: number) => ({
  accessToken: `access-${n}`,
  refreshToken: `refresh-${n}`,
  tokenType: 'Bearer',
  expiresIn: 900,
});

describe('ApiClient', () => {
  it('sends the access token as a bearer token', async () => {
    const { api, requests } = testClient(() => json({ tokenBalance: 10, costPerMessage: 1 }));
    expect(await api.balance()).toEqual({ tokenBalance: 10, costPerMessage: 1 });
    expect(requests[0]?.headers.get('Authorization')).toBe('Bearer access-1');
    expect(new URL(requests[0]!.url).pathname).toBe('/api/users/me/balance');
  });

  it('stores the token pair on login', async () => {
    const { api, session, requests } = testClient(() => json(tokens(5)), { signedIn: false });
    await api.login('alice', 'Secret#123');
    expect(session.get()).toMatchObject({ accessToken: 'access-5', refreshToken: 'refresh-5' });
    expect(await requests[0]!.json()).toEqual({ userName: 'alice', password: 'Secret#123' });
  });

  it('refreshes once on 401 and retries the request with the new token', async () => {
    const { api, session, requests } = testClient(async (request) => {
      const path = new URL(request.url).pathname;
      if (path === '/api/auth/refresh') {
        expect(await request.json()).toEqual({ refreshToken: 'refresh-1' });
        return json(tokens(2));
      }
      return request.headers.get('Authorization') === 'Bearer access-2' ? json({ items: [], nextCursor: null }) : problem(401);
    });
    expect(await api.listConversations()).toEqual({ items: [], nextCursor: null });
    expect(requests.map((r) => new URL(r.url).pathname)).toEqual([
      '/api/conversations',
      '/api/auth/refresh',
      '/api/conversations',
    ]);
    expect(session.get()?.refreshToken).toBe('refresh-2');
  });

  it('shares one refresh between concurrent requests that hit 401', async () => {
    let refreshes = 0;
    const { api } = testClient(async (request) => {
      if (new URL(request.url).pathname === '/api/auth/refresh') {
        refreshes++;
        await new Promise((r) => setTimeout(r, 10));
        return json(tokens(2));
      }
      return request.headers.get('Authorization') === 'Bearer access-2'
        ? json({ id: 'c', title: null, createdAt: '', updatedAt: '', messageCount: 0 })
        : problem(401);
    });
    const results = await Promise.all([api.getConversation('a'), api.getConversation('b'), api.getConversation('c')]);
    expect(results).toHaveLength(3);
    expect(refreshes).toBe(1);
  });

  it('ends the session when the refresh token is rejected', async () => {
    const { api, session } = testClient((request) =>
      new URL(request.url).pathname === '/api/auth/refresh' ? problem(401) : problem(401),
    );
    await expect(api.me()).rejects.toBeInstanceOf(SessionExpiredError);
    expect(session.get()).toBeNull();
  });

  it('keeps the session when the refresh fails for lack of network', async () => {
    const { api, session } = testClient((request) => {
      if (new URL(request.url).pathname === '/api/auth/refresh') throw new TypeError('Failed to fetch');
      return problem(401);
    });
    await expect(api.me()).rejects.toBeInstanceOf(NetworkError);
    expect(session.get()?.refreshToken).toBe('refresh-1');
  });

  it('turns problem details into an ApiError with field errors', async () => {
    const { api } = testClient(
      () => problem(400, { errors: { Password: ['Too short.', 'Needs a digit.'], userName: ['Taken.'] } }),
      { signedIn: false },
    );
    const error = await api.register({ userName: 'al', password: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).fieldErrors('password')).toEqual(['Too short.', 'Needs a digit.']);
    expect((error as ApiError).fieldErrors('userName')).toEqual(['Taken.']);
  });

  it('reports a failed fetch as a NetworkError', async () => {
    const { api } = testClient(() => {
      throw new TypeError('Failed to fetch');
    });
    await expect(api.listConversations()).rejects.toBeInstanceOf(NetworkError);
  });

  it('asks for the newest page with from=end and follows a cursor alone', async () => {
    const { api, requests } = testClient(() => json({ items: [], nextCursor: null }));
    await api.listMessages('c 1', { from: 'end', limit: 30 });
    await api.listMessages('c 1', { from: 'end', cursor: 'abc', limit: 30 });
    const [first, second] = requests.map((r) => new URL(r.url));
    expect(first?.pathname).toBe('/api/conversations/c%201/messages');
    expect(Object.fromEntries(first!.searchParams)).toEqual({ from: 'end', limit: '30' });
    expect(Object.fromEntries(second!.searchParams)).toEqual({ cursor: 'abc', limit: '30' });
  });

  it('streams a turn as typed events, sending clientMessageId and Accept: text/event-stream', async () => {
    const stream = controllableSse();
    const { api, requests } = testClient(() => stream.response);
    const events = await api.streamMessage('c1', 'hi', 'client-1');
    expect(requests[0]?.headers.get('Accept')).toBe('text/event-stream');
    expect(await requests[0]!.json()).toEqual({ content: 'hi', clientMessageId: 'client-1' });

    stream.send(sseEvent('delta', { text: 'h' }));
    stream.send('event: delta\ndata: {"te');
    stream.send('xt":"i"}\n\n');
    stream.close();
    const received: ChatEvent[] = [];
    for await (const event of events) received.push(event);
    expect(received).toEqual([
      { type: 'delta', text: 'h' },
      { type: 'delta', text: 'i' },
    ]);
  });

  it('throws the ProblemDetails of a turn refused before streaming (402)', async () => {
    const { api } = testClient(() => problem(402, { title: 'Out of tokens', detail: 'Balance 0' }));
    const error = await api.streamMessage('c1', 'hi', 'id').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(402);
  });

  it('revokes the refresh token on logout and clears the session', async () => {
    const { api, session, requests } = testClient(() => new Response(null, { status: 204 }));
    await api.logout();
    expect(session.get()).toBeNull();
    expect(new URL(requests[0]!.url).pathname).toBe('/api/auth/logout');
    expect(requests[0]?.headers.get('Authorization')).toBe('Bearer access-1');
    expect(await requests[0]!.json()).toEqual({ refreshToken: 'refresh-1' });
  });
});
