import { screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { json, problem, testClient, type Handler } from '../test/fake-fetch';
import { renderWithApi } from '../test/render';
import { ConversationMenu } from './conversation-menu';
import { SharedPage } from './shared-page';

const share = { id: 'AbCdEfGhIjKlMnOpQrStUvWx', url: 'http://parley.test/s/AbCdEfGhIjKlMnOpQrStUvWx', createdAt: '2026-11-27T10:00:00Z', conversationId: 'c1', title: 'Fjords' };

describe('Share link', () => {
  it('makes a link from the menu and copies its URL', async () => {
    const { api, requests } = testClient((request) =>
      request.method === 'POST' && new URL(request.url).pathname === '/api/conversations/c1/shares' ? json(share, 201) : problem(404),
    );
    const { user } = renderWithApi(<ConversationMenu conversationId="c1" onError={vi.fn()} />, api);

    await user.click(screen.getByTestId('conversation-menu'));
    await user.click(screen.getByRole('menuitem', { name: 'Share link…' }));

    const dialog = await screen.findByRole('dialog', { name: 'Share conversation' });
    expect(await screen.findByTestId('share-url')).toHaveValue(share.url);
    expect(dialog).toHaveTextContent('Messages you send later are not shared.');
    expect(screen.getByTestId('copy-share-url')).toHaveFocus();
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(1);

    await user.click(screen.getByTestId('copy-share-url'));
    expect(screen.getByTestId('copy-share-url')).toHaveTextContent('Copied');
    expect(await navigator.clipboard.readText()).toBe(share.url);

    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByTestId('conversation-menu')).toHaveFocus();
  });

  it('says why a link could not be made and tries again', async () => {
    let fail = true;
    const { api } = testClient(() => (fail ? problem(404, { detail: 'The conversation does not exist.' }) : json(share, 201)));
    const { user } = renderWithApi(<ConversationMenu conversationId="c1" onError={vi.fn()} />, api);
    await user.click(screen.getByTestId('conversation-menu'));
    await user.click(screen.getByTestId('share-conversation'));

    expect(await screen.findByTestId('error')).toHaveTextContent('Could not create the link. The conversation does not exist.');
    fail = false;
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('share-url')).toHaveValue(share.url);
  });
});

describe('SharedPage', () => {
  const backend: Handler = (request) =>
    new URL(request.url).pathname === `/api/shares/${share.id}`
      ? json({
          title: 'Fjords',
          createdAt: '2026-11-27T10:00:00Z',
          messages: [
            { id: 'm1', role: 'user', content: 'What is a fjord?', createdAt: '2026-11-27T09:59:00Z', model: null },
            { id: 'm2', role: 'assistant', content: 'A **long** inlet.', createdAt: '2026-11-27T09:59:01Z', model: 'echo' },
          ],
        })
      : problem(404);

  it('shows the snapshot without a session', async () => {
    const { api, requests } = testClient(backend, { signedIn: false });
    renderWithApi(<SharedPage shareId={share.id} signedIn={false} />, api);

    expect(await screen.findByTestId('shared-title')).toHaveTextContent('Fjords');
    expect(screen.getByTestId('shared-banner')).toHaveTextContent('Shared conversation · a read-only copy as it was on');
    const messages = screen.getAllByTestId('message');
    expect(messages.map((m) => m.getAttribute('data-role'))).toEqual(['user', 'assistant']);
    expect(messages[0]).toHaveTextContent('What is a fjord?');
    expect(await screen.findByText('long', { selector: 'strong' })).toBeInTheDocument();
    expect(screen.queryByTestId('edit-message')).toBeNull();
    expect(screen.getByTestId('shared-signup')).toHaveTextContent('Sign up or log in');
    expect(requests.map((r) => r.headers.get('Authorization'))).toEqual([null]);
  });

  it('says a revoked or unknown link no longer exists', async () => {
    const { api } = testClient(backend, { signedIn: false });
    renderWithApi(<SharedPage shareId="revoked" signedIn={false} />, api);
    expect(await screen.findByTestId('shared-not-found')).toHaveTextContent('This link was revoked or never existed');
  });
});
