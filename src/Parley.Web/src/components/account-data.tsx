import { useEffect, useState } from 'react';
import { useApi } from '../lib/api-context';
import { describeError } from '../lib/errors';
import { listShares, revokeShare, type Share } from '../lib/shares';
import { showToast } from '../lib/toast';
import { exportAllData } from '../lib/transfer';
import { Section } from './account-section';
import { ConfirmDialog } from './confirm-dialog';
import { ErrorBanner } from './error-banner';

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** The user's share links, newest first, each with Revoke (after a confirmation). */
export function SharesSection() {
  const api = useApi();
  const [shares, setShares] = useState<Share[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<Share | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let active = true;
    listShares(api).then(
      (items) => active && setShares(items),
      (caught: unknown) => active && setError(describeError(caught)),
    );
    return () => {
      active = false;
    };
  }, [api]);

  async function revoke(share: Share) {
    setBusy(true);
    try {
      await revokeShare(api, share.id);
      setShares((current) => current?.filter((s) => s.id !== share.id) ?? null);
      showToast('Link revoked');
    } catch (caught) {
      setError(`Could not revoke the link. ${describeError(caught)}`);
    } finally {
      setBusy(false);
      setConfirming(null);
    }
  }

  return (
    <Section title="Share links" testId="shares-section">
      {error && <ErrorBanner className="mb-3" message={error} onDismiss={() => setError(null)} />}
      {shares === null && !error && <p className="text-sm text-zinc-500">Loading…</p>}
      {shares?.length === 0 && (
        <p className="text-sm text-zinc-500" data-testid="shares-empty">
          You have not shared any conversation. Use Share link… in a conversation’s menu.
        </p>
      )}
      {shares && shares.length > 0 && (
        <ul className="divide-y divide-zinc-100">
          {shares.map((share) => (
            <li key={share.id} className="flex items-center gap-3 py-2.5" data-testid="share-item" data-share-id={share.id}>
              <div className="min-w-0 flex-1">
                <a href={share.url} target="_blank" rel="noreferrer" className="link block truncate text-sm font-medium">
                  {share.title?.trim() || 'New chat'}
                </a>
                <p className="text-xs text-zinc-500">Shared {dateFormat.format(new Date(share.createdAt))}</p>
              </div>
              <button type="button" className="btn-secondary h-8 shrink-0 px-3 text-sm" onClick={() => setConfirming(share)} data-testid="revoke-share">
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      {confirming && (
        <ConfirmDialog
          title="Revoke this link?"
          description={`Anyone who opens the link to “${confirming.title?.trim() || 'New chat'}” will see that it no longer exists. The conversation itself stays.`}
          confirmLabel={busy ? 'Revoking…' : 'Revoke'}
          busy={busy}
          onConfirm={() => void revoke(confirming)}
          onCancel={() => setConfirming(null)}
        />
      )}
    </Section>
  );
}

/** "Export all my data": every conversation, with every version of every message, as one JSON download. */
export function DataExportSection() {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function download() {
    setBusy(true);
    setError(null);
    try {
      showToast(`Downloaded ${await exportAllData(api)}`);
    } catch (caught) {
      setError(`Could not export your data. ${describeError(caught)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Section title="Your data" testId="export-section">
      <p className="mb-4 text-sm text-zinc-600">
        Download all your conversations, with every version of every message, as one JSON file. Import it from the
        sidebar (here or on another Parley server) to bring them back.
      </p>
      {error && <ErrorBanner className="mb-3" message={error} onDismiss={() => setError(null)} />}
      <button type="button" className="btn-secondary h-10 px-4" disabled={busy} onClick={() => void download()} data-testid="export-all">
        {busy ? 'Preparing…' : 'Export all my data'}
      </button>
    </Section>
  );
}
