import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useApi } from '../lib/api-context';
import { ApiError, describeError } from '../lib/errors';
import { showToast } from '../lib/toast';
import type { SessionInfo, Transaction } from '../lib/types';
import { DataExportSection, SharesSection } from './account-data';
import { Section } from './account-section';
import { ConfirmDialog } from './confirm-dialog';
import { ErrorBanner } from './error-banner';
import { TextField } from './text-field';

const numberFormat = new Intl.NumberFormat();
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

const KIND_LABELS: Record<Transaction['kind'], string> = {
  initial: 'Starting balance',
  message: 'Message',
  refund: 'Refund',
  topup: 'Top-up',
  refill: 'Refill',
  correction: 'Correction',
};

/** The signed-in user's account: password, sessions, token history, share links, data export and account deletion. */
export function AccountPage({ onBalance }: { onBalance: () => void }) {
  return (
    <div className="flex-1 overflow-y-auto px-3 py-6 sm:px-6" data-testid="account-page">
      <div className="mx-auto flex w-full max-w-3xl flex-col gap-8">
        <h2 className="text-lg font-semibold text-zinc-900">Account</h2>
        <PasswordSection />
        <SessionsSection />
        <HistorySection onLoaded={onBalance} />
        <SharesSection />
        <DataExportSection />
        <DeleteSection />
      </div>
    </div>
  );
}

function PasswordSection() {
  const api = useApi();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [errors, setErrors] = useState<{ current: string[]; next: string[] }>({ current: [], next: [] });
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({ current: [], next: [] });
    try {
      await api.changePassword(current, next);
      setCurrent('');
      setNext('');
      showToast('Password changed. Your other sessions were logged out.');
    } catch (caught) {
      if (caught instanceof ApiError) {
        setErrors({ current: caught.fieldErrors('currentPassword'), next: caught.fieldErrors('newPassword') });
      } else {
        setErrors({ current: [describeError(caught)], next: [] });
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Section title="Change password" testId="password-section">
      <form onSubmit={submit} className="flex flex-col gap-4 sm:max-w-sm" noValidate>
        <TextField label="Current password" type="password" autoComplete="current-password" value={current}
          onChange={(e) => setCurrent(e.target.value)} errors={errors.current} data-testid="current-password" required />
        <TextField label="New password" type="password" autoComplete="new-password" value={next}
          onChange={(e) => setNext(e.target.value)} errors={errors.next} data-testid="new-password"
          hint="At least 8 characters with upper- and lower-case letters, a digit and a symbol." required />
        <button type="submit" className="btn-primary h-10 self-start px-4" disabled={busy || !current || !next} data-testid="change-password">
          {busy ? 'Changing…' : 'Change password'}
        </button>
      </form>
    </Section>
  );
}

function SessionsSection() {
  const api = useApi();
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.sessions().then(setSessions, (caught: unknown) => setError(describeError(caught)));
  }, [api]);
  useEffect(load, [load]);

  async function revoke(id: string) {
    try {
      await api.revokeSession(id);
      setSessions((list) => list?.filter((s) => s.id !== id) ?? null);
      showToast('Session logged out');
    } catch (caught) {
      setError(describeError(caught));
    }
  }

  return (
    <Section title="Sessions" testId="sessions-section">
      {error && <ErrorBanner message={error} onDismiss={() => setError(null)} />}
      {sessions === null ? (
        <p className="text-sm text-zinc-500">Loading…</p>
      ) : (
        <ul className="flex flex-col divide-y divide-zinc-100">
          {sessions.map((s) => (
            <li key={s.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2.5" data-testid="session">
              <div className="min-w-0 flex-1">
                <p className="truncate text-sm font-medium text-zinc-800" title={s.userAgent ?? undefined}>
                  {describeAgent(s.userAgent)}
                  {s.current && (
                    <span className="ml-2 rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700">This device</span>
                  )}
                </p>
                <p className="text-xs text-zinc-500">
                  Signed in {dateFormat.format(new Date(s.createdAt))} · last active {dateFormat.format(new Date(s.lastUsedAt))}
                </p>
              </div>
              {!s.current && (
                <button type="button" className="btn-ghost text-sm" onClick={() => void revoke(s.id)} data-testid="revoke-session">
                  Log out
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

/** A short name for a browser's User-Agent string. */
export function describeAgent(agent: string | null): string {
  if (!agent) return 'Unknown device';
  const browser = /Edg\//.test(agent) ? 'Edge' : /Firefox\//.test(agent) ? 'Firefox' : /Chrome\//.test(agent) ? 'Chrome'
    : /Safari\//.test(agent) ? 'Safari' : null;
  const system = /Windows/.test(agent) ? 'Windows' : /Android/.test(agent) ? 'Android' : /iPhone|iPad/.test(agent) ? 'iOS'
    : /Mac OS X/.test(agent) ? 'macOS' : /Linux/.test(agent) ? 'Linux' : null;
  return browser && system ? `${browser} on ${system}` : agent.slice(0, 60);
}

function HistorySection({ onLoaded }: { onLoaded: () => void }) {
  const api = useApi();
  const [rows, setRows] = useState<Transaction[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    (after?: string) => {
      setLoading(true);
      api.transactions({ limit: 20, ...(after ? { cursor: after } : {}) }).then(
        (page) => {
          setRows((current) => (after ? [...current, ...page.items] : page.items));
          setCursor(page.nextCursor);
          setLoading(false);
        },
        (caught: unknown) => {
          setError(describeError(caught));
          setLoading(false);
        },
      );
    },
    [api],
  );
  useEffect(() => {
    load();
    onLoaded();
  }, [load, onLoaded]);

  return (
    <Section title="Token history" testId="history-section">
      {error && <ErrorBanner message={error} onDismiss={() => setError(null)} />}
      <table className="w-full text-sm">
        <thead className="text-left text-xs text-zinc-500">
          <tr>
            <th className="py-1.5 font-medium">When</th>
            <th className="py-1.5 font-medium">What</th>
            <th className="py-1.5 text-right font-medium">Tokens</th>
            <th className="py-1.5 text-right font-medium">Balance</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 tabular-nums">
          {rows.map((row) => (
            <tr key={row.id} data-testid="transaction" data-kind={row.kind}>
              <td className="py-1.5 text-zinc-600">{dateFormat.format(new Date(row.createdAt))}</td>
              <td className="py-1.5 text-zinc-800">
                {KIND_LABELS[row.kind]}
                {row.reason && <span className="text-zinc-500"> · {row.reason}</span>}
              </td>
              <td className={`py-1.5 text-right ${row.amount < 0 ? 'text-zinc-700' : 'text-emerald-700'}`}>
                {row.amount > 0 ? '+' : ''}
                {numberFormat.format(row.amount)}
              </td>
              <td className="py-1.5 text-right text-zinc-700">{numberFormat.format(row.balanceAfter)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor && (
        <button type="button" className="btn-ghost mt-3 text-sm" disabled={loading} onClick={() => load(cursor)}>
          {loading ? 'Loading…' : 'Show more'}
        </button>
      )}
    </Section>
  );
}

function DeleteSection() {
  const api = useApi();
  const [password, setPassword] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<string[]>([]);

  async function confirmDelete() {
    setBusy(true);
    try {
      await api.deleteAccount(password); // ends the session: the app shows the login screen
    } catch (caught) {
      setErrors(caught instanceof ApiError && caught.fieldErrors('password').length ? caught.fieldErrors('password') : [describeError(caught)]);
      setBusy(false);
      setConfirming(false);
    }
  }

  return (
    <Section title="Delete account" testId="delete-section">
      <p className="mb-4 text-sm text-zinc-600">
        Your account, all conversations and messages, and your token history are deleted for good.
      </p>
      <form
        className="flex flex-col gap-4 sm:max-w-sm"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          setErrors([]);
          setConfirming(true);
        }}
      >
        <TextField label="Password" type="password" autoComplete="current-password" value={password}
          onChange={(e) => setPassword(e.target.value)} errors={errors} data-testid="delete-password" />
        <button type="submit" className="btn-danger h-10 self-start px-4" disabled={!password} data-testid="delete-account">
          Delete account
        </button>
      </form>
      {confirming && (
        <ConfirmDialog
          title="Delete your account?"
          description="Everything in it is deleted and every session is logged out. This cannot be undone."
          confirmLabel={busy ? 'Deleting…' : 'Delete account'}
          busy={busy}
          onConfirm={() => void confirmDelete()}
          onCancel={() => setConfirming(false)}
        />
      )}
    </Section>
  );
}
