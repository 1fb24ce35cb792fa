import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiContext } from '../lib/api-context';
import type { SearchResult } from '../lib/search';
import { json, problem, testClient, type Handler } from '../test/fake-fetch';
import { SEARCH_DEBOUNCE_MS, SearchPanel } from './search-panel';

function result(n: number, overrides: Partial<SearchResult> = {}): SearchResult {
  return { conversationId: `c${n}`, messageId: `m${n}`, title: `Chat ${n}`, snippet: `about «fjords» ${n}`, createdAt: '2026-11-20T10:00:00Z', ...overrides };
}

function setup(handler: Handler) {
  const { api, requests } = testClient(handler);
  const onOpen = vi.fn<(r: SearchResult) => void>();
  const onActiveChange = vi.fn<(active: boolean) => void>();
  const user = userEvent.setup({ delay: null }); // no waits between keystrokes: the test moves the clock itself
  render(
    <ApiContext.Provider value={api}>
      <SearchPanel onOpen={onOpen} onActiveChange={onActiveChange} />
    </ApiContext.Provider>,
  );
  const searches = () => requests.filter((r) => new URL(r.url).pathname === '/api/search').map((r) => new URL(r.url).searchParams);
  return { user, onOpen, onActiveChange, searches, input: screen.getByTestId('search-input') };
}

/** Moves the (fake) clock on: the debounce runs out after SEARCH_DEBOUNCE_MS of quiet. */
async function quiet(ms = SEARCH_DEBOUNCE_MS) {
  await act(async () => {
    vi.advanceTimersByTime(ms);
  });
}

/**
 * Waits until `check` passes, letting the fake fetch's responses arrive between tries (setImmediate is not faked;
 * testing-library's findBy/waitFor would wait on the faked setTimeout).
 */
const { setImmediate } = globalThis as unknown as { setImmediate: (callback: () => void) => void };

async function until<T>(check: () => T): Promise<T> {
  for (let i = 0; i < 500; i++) {
    try {
      return check();
    } catch {
      await act(() => new Promise<void>((resolve) => setImmediate(resolve)));
    }
  }
  return check();
}

describe('SearchPanel', () => {
  // The debounce runs on a fake clock. testing-library's act() and user-event wait on setTimeout(0); they advance a
  // fake clock when they see `jest` (which vitest does not define), so it is lent for the test.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    (globalThis as { jest?: unknown }).jest = { advanceTimersByTime: (ms: number) => vi.advanceTimersByTime(ms) };
  });
  afterEach(() => {
    delete (globalThis as { jest?: unknown }).jest;
    vi.useRealTimers();
  });

  it('searches once, 250 ms after the last keystroke, and lists titles and marked snippets', async () => {
    const { user, input, searches, onActiveChange } = setup(() => json({ items: [result(1), result(2, { messageId: null, title: 'Fjords', snippet: '«Fjords»' })], nextCursor: null }));

    await user.type(input, 'fjo');
    await quiet(SEARCH_DEBOUNCE_MS - 50);
    await user.type(input, 'rds');
    await quiet(SEARCH_DEBOUNCE_MS - 1);
    expect(searches()).toHaveLength(0);
    await quiet(1);

    const items = await until(() => screen.getAllByTestId('search-result'));
    expect(searches().map((q) => q.get('q'))).toEqual(['fjords']);
    expect(searches()[0]?.get('limit')).toBe('20');
    expect(items.map((i) => i.querySelector('[data-testid="search-result-title"]')?.textContent)).toEqual(['Chat 1', 'Fjords']);
    expect(items[0]?.querySelector('mark')?.textContent).toBe('fjords');
    expect(items[0]).toHaveAttribute('data-message-id', 'm1');
    expect(items[1]?.querySelector('[data-testid="search-result-title"] mark')?.textContent).toBe('Fjords');
    expect(onActiveChange).toHaveBeenLastCalledWith(true);
  });

  it('Escape clears the box and hides the results; a click opens the result', async () => {
    const { user, input, onOpen, onActiveChange } = setup(() => json({ items: [result(1)], nextCursor: null }));
    await user.type(input, 'fjords');
    await quiet();
    await user.click(await until(() => screen.getByTestId('search-result')));
    expect(onOpen).toHaveBeenCalledWith(result(1));

    const escape = new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true });
    await user.click(input);
    await act(async () => {
      input.dispatchEvent(escape);
    });
    expect(escape.defaultPrevented).toBe(true); // the drawer stays open
    expect(input).toHaveValue('');
    expect(screen.queryByTestId('search-results')).toBeNull();
    expect(onActiveChange).toHaveBeenLastCalledWith(false);
  });

  it('says when nothing matches and never sends a query without a word', async () => {
    const { user, input, searches } = setup(() => json({ items: [], nextCursor: null }));
    await user.type(input, '?!');
    await quiet();
    expect(screen.getByTestId('search-empty')).toHaveTextContent('No results for “?!”.');
    expect(searches()).toHaveLength(0);

    await user.clear(input);
    await user.type(input, 'zebra');
    await quiet();
    await until(() => expect(screen.getByTestId('search-empty')).toHaveTextContent('No results for “zebra”.'));
    expect(searches().map((q) => q.get('q'))).toEqual(['zebra']);
  });

  it('loads more with the next cursor', async () => {
    const { user, input, searches } = setup((request) =>
      new URL(request.url).searchParams.get('cursor') === 'page2'
        ? json({ items: [result(3)], nextCursor: null })
        : json({ items: [result(1), result(2)], nextCursor: 'page2' }),
    );
    await user.type(input, 'fjords');
    await quiet();
    await user.click(await until(() => screen.getByTestId('search-more')));
    await until(() => expect(screen.getAllByTestId('search-result')).toHaveLength(3));
    expect(searches().map((q) => [q.get('q'), q.get('cursor')])).toEqual([
      ['fjords', null],
      ['fjords', 'page2'],
    ]);
    expect(screen.queryByTestId('search-more')).toBeNull();
  });

  it('shows the error and tries again', async () => {
    let fail = true;
    const { user, input } = setup(() => (fail ? problem(500, { traceId: 't-1' }) : json({ items: [result(1)], nextCursor: null })));
    await user.type(input, 'fjords');
    await quiet();
    expect(await until(() => screen.getByTestId('search-error'))).toHaveTextContent('Search failed. The server ran into a problem. Please try again. (trace id t-1)');
    fail = false;
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    await quiet();
    await until(() => expect(screen.getAllByTestId('search-result')).toHaveLength(1));
  });
});
