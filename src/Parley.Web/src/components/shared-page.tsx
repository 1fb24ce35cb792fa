import { useEffect, useState } from 'react';
import { useApi } from '../lib/api-context';
import { ApiError, describeError } from '../lib/errors';
import { navigate } from '../lib/router';
import { getSharedConversation, type SharedConversation } from '../lib/shares';
import type { Message as MessageModel } from '../lib/types';
import { ErrorBanner } from './error-banner';
import { LogoIcon } from './icons';
import { Message } from './message';
import { Toaster } from './toaster';

type Load = { kind: 'loading' } | { kind: 'ready'; shared: SharedConversation } | { kind: 'not-found' } | { kind: 'error'; message: string };

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'long', timeStyle: 'short' });

/** The snapshot's messages as the chat shows them (read-only: no edit, regenerate or versions). */
function toMessages(shared: SharedConversation): MessageModel[] {
  return shared.messages.map((m, index) => ({
    id: m.id,
    conversationId: '',
    sequence: index + 1,
    role: m.role,
    content: m.content,
    status: 'completed',
    createdAt: m.createdAt,
    model: m.model,
  }));
}

/**
 * `/s/{shareId}`: a shared conversation for anyone with the link, signed in or not: a banner saying what it is, the
 * title and the messages (Markdown, read-only), and a way into Parley. A revoked or unknown link says so.
 */
export function SharedPage({ shareId, signedIn }: { shareId: string; signedIn: boolean }) {
  const api = useApi();
  const [load, setLoad] = useState<Load>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setLoad({ kind: 'loading' });
    getSharedConversation(api, shareId, controller.signal).then(
      (shared) => setLoad({ kind: 'ready', shared }),
      (caught: unknown) => {
        if (controller.signal.aborted) return;
        setLoad(caught instanceof ApiError && caught.status === 404 ? { kind: 'not-found' } : { kind: 'error', message: describeError(caught) });
      },
    );
    return () => controller.abort();
  }, [api, shareId, attempt]);

  const title = load.kind === 'ready' ? load.shared.title?.trim() || 'Shared conversation' : null;
  useEffect(() => {
    document.title = load.kind === 'not-found' ? 'Link not found · Parley' : title ? `${title} · Parley` : 'Parley';
  }, [load.kind, title]);

  return (
    <div className="flex min-h-dvh flex-col bg-white">
      <header className="sticky top-0 z-10 flex h-14 shrink-0 items-center gap-2 border-b border-zinc-100 bg-white px-3 sm:px-6">
        <LogoIcon width={24} height={24} className="text-zinc-900" />
        <span className="flex-1 text-[15px] font-semibold tracking-tight text-zinc-900">Parley</span>
        <a
          href="/"
          onClick={(event) => {
            event.preventDefault();
            navigate('/');
          }}
          className="btn-primary flex h-9 items-center px-4 text-sm"
          data-testid="shared-signup"
        >
          {signedIn ? 'Open Parley' : 'Sign up or log in'}
        </a>
      </header>
      <main className="mx-auto flex w-full max-w-3xl flex-1 flex-col gap-6 px-4 pt-6 pb-12 sm:px-6" data-testid="shared-page">
        {load.kind === 'loading' && (
          <p className="py-12 text-center text-sm text-zinc-500" role="status">
            Loading shared conversation…
          </p>
        )}
        {load.kind === 'error' && (
          <ErrorBanner message={load.message} action={{ label: 'Try again', onClick: () => setAttempt((n) => n + 1) }} />
        )}
        {load.kind === 'not-found' && (
          <div className="flex flex-col items-center gap-3 py-16 text-center" data-testid="shared-not-found">
            <h1 className="text-lg font-semibold text-zinc-900">This link was revoked or never existed</h1>
            <p className="max-w-sm text-sm text-zinc-500">
              Whoever shared it may have turned it off. Ask them for a new link.
            </p>
          </div>
        )}
        {load.kind === 'ready' && (
          <>
            <div
              className="rounded-xl border border-zinc-200 bg-zinc-50 px-4 py-3 text-sm text-zinc-700"
              role="note"
              data-testid="shared-banner"
            >
              <strong className="font-semibold text-zinc-900">Shared conversation</strong> · a read-only copy as it was on{' '}
              {dateFormat.format(new Date(load.shared.createdAt))}.
            </div>
            <h1 className="text-2xl font-semibold tracking-tight break-words text-zinc-900" data-testid="shared-title">
              {title}
            </h1>
            {load.shared.messages.length === 0 ? (
              <p className="text-sm text-zinc-500">This conversation had no messages when it was shared.</p>
            ) : (
              <div role="log" aria-label="Messages" className="flex flex-col gap-6">
                {toMessages(load.shared).map((message) => (
                  <Message key={message.id} message={message} />
                ))}
              </div>
            )}
          </>
        )}
      </main>
      <Toaster />
    </div>
  );
}
