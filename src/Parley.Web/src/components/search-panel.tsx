import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { useApi } from '../lib/api-context';
import { describeError, isAbortError } from '../lib/errors';
import { conversationPath } from '../lib/router';
import { MAX_QUERY_LENGTH, hasSearchableWord, searchConversations, type SearchResult } from '../lib/search';
import { Snippet } from './snippet';

/** Wait this long after the last keystroke before searching. */
export const SEARCH_DEBOUNCE_MS = 250;
const PAGE_SIZE = 20;

type SearchState =
  | { status: 'idle' }
  | { status: 'loading'; query: string; items: SearchResult[] }
  | { status: 'ready'; query: string; items: SearchResult[]; nextCursor: string | null; loadingMore: boolean }
  | { status: 'error'; query: string; message: string };

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

function resultKey(result: SearchResult): string {
  return result.messageId ?? `title:${result.conversationId}`;
}

function SearchIcon() {
  return (
    <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" aria-hidden="true" focusable="false">
      <circle cx="11" cy="11" r="7" />
      <path d="m20 20-3.5-3.5" />
    </svg>
  );
}

function ResultItem({ result, onOpen }: { result: SearchResult; onOpen: (result: SearchResult) => void }) {
  const titleMatch = result.messageId === null;
  const date = new Date(result.createdAt);
  function handleClick(event: MouseEvent<HTMLAnchorElement>) {
    // New tabs and windows open the conversation itself; a plain click opens it at the message.
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    onOpen(result);
  }
  return (
    <li>
      <a
        href={conversationPath(result.conversationId)}
        onClick={handleClick}
        data-testid="search-result"
        data-conversation-id={result.conversationId}
        data-message-id={result.messageId ?? undefined}
        className="block rounded-lg px-2.5 py-2 text-sm outline-none hover:bg-zinc-200/40 focus-visible:ring-2 focus-visible:ring-zinc-900 focus-visible:ring-inset max-md:py-2.5"
      >
        <span className="flex items-baseline gap-2">
          <span className="min-w-0 flex-1 truncate font-medium text-zinc-900" data-testid="search-result-title">
            {titleMatch ? <Snippet text={result.snippet} /> : result.title?.trim() || 'New chat'}
          </span>
          {!Number.isNaN(date.getTime()) && (
            <time dateTime={result.createdAt} className="shrink-0 text-xs text-zinc-500">
              {dateFormat.format(date)}
            </time>
          )}
        </span>
        <span className="mt-0.5 line-clamp-2 text-xs break-words text-zinc-600" data-testid="search-result-snippet">
          {titleMatch ? 'Title' : <Snippet text={result.snippet} />}
        </span>
      </a>
    </li>
  );
}

/**
 * The sidebar's search: a box (searches 250 ms after the last keystroke; Escape clears it) and, while it holds a
 * query, the results in place of the conversation list: title and snippet with the matched terms marked, more on
 * demand, and empty and error states. Opening a result calls `onOpen`; `onActiveChange` tells the sidebar to hide
 * its list while results are shown.
 */
export function SearchPanel({
  onOpen,
  onActiveChange,
}: {
  onOpen: (result: SearchResult) => void;
  onActiveChange: (active: boolean) => void;
}) {
  const api = useApi();
  const [query, setQuery] = useState('');
  const [state, setState] = useState<SearchState>({ status: 'idle' });
  const [retries, setRetries] = useState(0);
  /** The request of the current query (first page or more): a new query aborts it. */
  const controllerRef = useRef<AbortController | null>(null);
  const trimmed = query.trim();
  const active = trimmed !== '';

  useEffect(() => onActiveChange(active), [active, onActiveChange]);

  useEffect(() => {
    controllerRef.current?.abort();
    if (!trimmed || !hasSearchableWord(trimmed)) {
      setState(trimmed ? { status: 'ready', query: trimmed, items: [], nextCursor: null, loadingMore: false } : { status: 'idle' });
      return;
    }
    const controller = new AbortController();
    controllerRef.current = controller;
    const timer = setTimeout(() => {
      // The previous results stay on screen (dimmed) until the new ones arrive.
      setState((s) => ({ status: 'loading', query: trimmed, items: 'items' in s ? s.items : [] }));
      searchConversations(api, trimmed, { limit: PAGE_SIZE, signal: controller.signal }).then(
        (page) => {
          if (controller.signal.aborted) return;
          setState({ status: 'ready', query: trimmed, items: page.items, nextCursor: page.nextCursor, loadingMore: false });
        },
        (caught: unknown) => {
          if (controller.signal.aborted || isAbortError(caught)) return;
          setState({ status: 'error', query: trimmed, message: describeError(caught) });
        },
      );
    }, SEARCH_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [api, trimmed, retries]);

  const loadMore = useCallback(() => {
    if (state.status !== 'ready' || !state.nextCursor || state.loadingMore) return;
    const controller = controllerRef.current;
    if (!controller || controller.signal.aborted) return;
    const { query: forQuery, nextCursor } = state;
    setState({ ...state, loadingMore: true });
    searchConversations(api, forQuery, { limit: PAGE_SIZE, cursor: nextCursor, signal: controller.signal }).then(
      (page) =>
        setState((s) => {
          if (s.status !== 'ready' || s.query !== forQuery || controller.signal.aborted) return s;
          const known = new Set(s.items.map(resultKey));
          return { ...s, items: [...s.items, ...page.items.filter((r) => !known.has(resultKey(r)))], nextCursor: page.nextCursor, loadingMore: false };
        }),
      (caught: unknown) => {
        if (controller.signal.aborted || isAbortError(caught)) return;
        setState({ status: 'error', query: forQuery, message: describeError(caught) });
      },
    );
  }, [api, state]);

  function handleKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key !== 'Escape' || query === '') return;
    // Clearing the box is all Escape does here: the drawer stays open and a running reply keeps going.
    event.preventDefault();
    setQuery('');
  }

  const items = state.status === 'loading' || state.status === 'ready' ? state.items : [];
  return (
    <>
      <div className="px-3 pb-2" role="search">
        <label className="relative block">
          <span className="sr-only">Search conversations</span>
          <span className="pointer-events-none absolute inset-y-0 left-2.5 flex items-center text-zinc-500">
            <SearchIcon />
          </span>
          <input
            type="search"
            value={query}
            maxLength={MAX_QUERY_LENGTH}
            onChange={(event) => setQuery(event.target.value)}
            onKeyDown={handleKeyDown}
            placeholder="Search"
            autoComplete="off"
            spellCheck={false}
            data-testid="search-input"
            className="h-9 w-full rounded-lg border border-zinc-200 bg-white pr-2 pl-8 text-sm text-zinc-900 outline-none placeholder:text-zinc-500 focus-visible:border-zinc-400 focus-visible:ring-3 focus-visible:ring-zinc-900/15 max-md:h-10"
          />
        </label>
      </div>
      {active && (
        <nav aria-label="Search results" className="min-h-0 flex-1 overflow-y-auto px-2 pb-3" data-testid="search-results" aria-busy={state.status === 'loading'}>
          <p className="sr-only" role="status">
            {state.status === 'ready' ? `${state.items.length}${state.nextCursor ? '+' : ''} results` : ''}
          </p>
          {state.status === 'error' ? (
            <div className="px-2.5 py-2 text-sm text-zinc-600" data-testid="search-error">
              Search failed. {state.message}{' '}
              <button type="button" className="link" onClick={() => setRetries((n) => n + 1)}>
                Try again
              </button>
            </div>
          ) : state.status === 'ready' && items.length === 0 ? (
            <p className="px-2.5 py-2 text-sm text-zinc-500" data-testid="search-empty">
              {`No results for “${state.query}”.`}
            </p>
          ) : items.length === 0 ? (
            <p className="px-2.5 py-2 text-sm text-zinc-500">Searching…</p>
          ) : (
            <ul className={`flex flex-col gap-0.5 ${state.status === 'loading' ? 'opacity-60' : ''}`}>
              {items.map((result) => (
                <ResultItem key={resultKey(result)} result={result} onOpen={onOpen} />
              ))}
            </ul>
          )}
          {state.status === 'ready' && state.nextCursor && (
            <button
              type="button"
              onClick={loadMore}
              disabled={state.loadingMore}
              data-testid="search-more"
              className="btn-ghost mt-2 w-full text-xs"
            >
              {state.loadingMore ? 'Loading…' : 'More results'}
            </button>
          )}
        </nav>
      )}
    </>
  );
}
