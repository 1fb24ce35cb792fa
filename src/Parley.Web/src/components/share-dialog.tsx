import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { copyText } from '../lib/clipboard';
import type { Share } from '../lib/shares';
import { showToast } from '../lib/toast';
import { ErrorBanner } from './error-banner';

/** The link being made, made, or refused. */
export type ShareState = { status: 'creating' } | { status: 'ready'; share: Share } | { status: 'error'; message: string };

/**
 * The share link of a conversation: its URL (selected, for copying by hand) and a Copy button. A modal dialog: focus
 * starts on Copy, Tab stays inside, Escape or Done closes it and focus returns to where it was.
 */
export function ShareDialog({ state, onClose, onRetry }: { state: ShareState; onClose: () => void; onRetry: () => void }) {
  const titleId = useId();
  const descriptionId = useId();
  const dialogRef = useRef<HTMLDivElement>(null);
  const copyRef = useRef<HTMLButtonElement>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    closeRef.current?.focus();
    return () => previous?.focus?.();
  }, []);

  const ready = state.status === 'ready';
  useEffect(() => {
    if (ready) copyRef.current?.focus();
  }, [ready]);

  async function copy(url: string) {
    const ok = await copyText(url);
    setCopied(ok);
    showToast(ok ? 'Link copied' : 'Could not copy the link');
  }

  function handleKeyDown(event: KeyboardEvent) {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      onClose();
    } else if (event.key === 'Tab' && dialogRef.current) {
      const focusable = [...dialogRef.current.querySelectorAll<HTMLElement>('input, button:not(:disabled)')];
      const first = focusable[0];
      const last = focusable.at(-1);
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last?.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first?.focus();
      }
    }
  }

  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/50 p-4" onKeyDown={handleKeyDown}>
      <div
        ref={dialogRef}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={descriptionId}
        data-testid="share-dialog"
        className="w-full max-w-md rounded-2xl bg-white p-5 shadow-xl"
      >
        <h2 id={titleId} className="text-base font-semibold text-zinc-900">
          Share conversation
        </h2>
        <p id={descriptionId} className="mt-1.5 text-sm text-zinc-600">
          Anyone with the link can read this conversation as it is now, without logging in. Messages you send later are
          not shared. You can revoke the link on your Account page.
        </p>
        <div className="mt-4">
          {state.status === 'creating' && (
            <p className="text-sm text-zinc-500" role="status">
              Creating link…
            </p>
          )}
          {state.status === 'error' && (
            <ErrorBanner message={`Could not create the link. ${state.message}`} action={{ label: 'Try again', onClick: onRetry }} />
          )}
          {state.status === 'ready' && (
            <div className="flex gap-2 max-sm:flex-col">
              <label className="min-w-0 flex-1">
                <span className="sr-only">Share link</span>
                <input
                  readOnly
                  value={state.share.url}
                  onFocus={(event) => event.currentTarget.select()}
                  data-testid="share-url"
                  className="h-9 w-full rounded-lg border border-zinc-300 bg-zinc-50 px-2.5 font-mono text-xs text-zinc-900 outline-none focus-visible:ring-3 focus-visible:ring-zinc-900/15"
                />
              </label>
              <button
                ref={copyRef}
                type="button"
                onClick={() => void copy(state.share.url)}
                data-testid="copy-share-url"
                className="btn-primary h-9 shrink-0 px-4"
              >
                {copied ? 'Copied' : 'Copy link'}
              </button>
            </div>
          )}
        </div>
        <div className="mt-5 flex justify-end">
          <button ref={closeRef} type="button" onClick={onClose} data-testid="close-share" className="btn-secondary h-9 px-4">
            Done
          </button>
        </div>
      </div>
    </div>
  );
}
