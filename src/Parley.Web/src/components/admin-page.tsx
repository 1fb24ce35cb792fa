import { useCallback, useEffect, useState } from 'react';
import { useApi } from '../lib/api-context';
import { ApiError, describeError } from '../lib/errors';
import { showToast } from '../lib/toast';
import type { AdminStats, AdminUser } from '../lib/types';
import { ErrorBanner } from './error-banner';

const numberFormat = new Intl.NumberFormat();
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** The operator's page: usage figures and the user table (search, top-up, disable). Admins only. */
export function AdminPage() {
  const api = useApi();
  const [stats, setStats] = useState<AdminStats | null>(null);
  const [query, setQuery] = useState('');
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const loadStats = useCallback(() => {
    api.adminStats().then(setStats, (caught: unknown) => setError(describeError(caught)));
  }, [api]);
  useEffect(loadStats, [loadStats]);

  const load = useCallback(
    (search: string, after?: string) => {
      api.adminUsers({ limit: 50, ...(search ? { query: search } : {}), ...(after ? { cursor: after } : {}) }).then(
        (page) => {
          setUsers((current) => (after ? [...(current ?? []), ...page.items] : page.items));
          setCursor(page.nextCursor);
        },
        (caught: unknown) => setError(describeError(caught)),
      );
    },
    [api],
  );
  useEffect(() => {
    const timer = setTimeout(() => load(query.trim()), 200);
    return () => clearTimeout(timer);
  }, [load, query]);

  const replace = useCallback((user: AdminUser) => {
    setUsers((list) => list?.map((u) => (u.id === user.id ? user : u)) ?? null);
  }, []);

  return (
    <div className="flex-1 overflow-y-auto px-3 py-6 sm:px-6" data-testid="admin-page">
      <div className="mx-auto flex w-full max-w-5xl flex-col gap-6">
        <h2 className="text-lg font-semibold text-zinc-900">Admin</h2>
        {error && <ErrorBanner message={error} onDismiss={() => setError(null)} />}
        {stats && <StatsGrid stats={stats} />}
        <label className="flex flex-col gap-1.5 sm:max-w-sm">
          <span className="text-sm font-medium text-zinc-800">Search users</span>
          <input
            type="search"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            placeholder="Name or email"
            data-testid="admin-search"
            className="h-10 rounded-lg border border-zinc-300 bg-white px-3 text-[15px] text-zinc-900 outline-none focus:border-zinc-500"
          />
        </label>
        <div className="overflow-x-auto rounded-2xl border border-zinc-200 bg-white">
          <table className="w-full min-w-[720px] text-sm">
            <thead className="border-b border-zinc-100 text-left text-xs text-zinc-500">
              <tr>
                <th className="px-3 py-2 font-medium">User</th>
                <th className="px-3 py-2 font-medium">Role</th>
                <th className="px-3 py-2 text-right font-medium">Balance</th>
                <th className="px-3 py-2 text-right font-medium">Messages</th>
                <th className="px-3 py-2 font-medium">Last active</th>
                <th className="px-3 py-2 font-medium">Top up</th>
                <th className="px-3 py-2 font-medium">Status</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-100">
              {users?.map((user) => (
                <UserRow key={user.id} user={user} onChange={replace} onError={setError} onStats={loadStats} />
              ))}
            </tbody>
          </table>
          {users?.length === 0 && <p className="px-3 py-4 text-sm text-zinc-500">No users match.</p>}
        </div>
        {cursor && (
          <button type="button" className="btn-ghost self-start text-sm" onClick={() => load(query.trim(), cursor)}>
            Show more
          </button>
        )}
      </div>
    </div>
  );
}

function StatsGrid({ stats }: { stats: AdminStats }) {
  const figures: [string, number][] = [
    ['Users', stats.users],
    ['Active (24 h)', stats.activeUsers],
    ['Conversations', stats.conversations],
    ['Messages', stats.messages],
    ['Turns (24 h)', stats.turns24h],
    ['Tokens charged (24 h)', stats.tokensCharged24h],
  ];
  return (
    <div className="flex flex-col gap-2">
      <dl className="grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6" data-testid="admin-stats">
        {figures.map(([label, value]) => (
          <div key={label} className="rounded-xl border border-zinc-200 bg-white px-3 py-2">
            <dt className="text-xs text-zinc-500">{label}</dt>
            <dd className="text-lg font-semibold tabular-nums text-zinc-900">{numberFormat.format(value)}</dd>
          </div>
        ))}
      </dl>
      <p className="text-xs text-zinc-500">
        {stats.lastRetentionRun
          ? `Last retention run ${dateFormat.format(new Date(stats.lastRetentionRun.finishedAt))}: ${numberFormat.format(stats.lastRetentionRun.deleted)} conversations deleted.`
          : 'Retention has not run (Retention:MaxAge is off or its first interval has not passed).'}
      </p>
    </div>
  );
}

interface UserRowProps {
  user: AdminUser;
  onChange: (user: AdminUser) => void;
  onError: (message: string) => void;
  onStats: () => void;
}

function UserRow({ user, onChange, onError, onStats }: UserRowProps) {
  const api = useApi();
  const [amount, setAmount] = useState('');
  const [busy, setBusy] = useState(false);
  const parsed = Number(amount);
  const valid = amount.trim() !== '' && Number.isInteger(parsed) && parsed !== 0;

  async function topUp() {
    setBusy(true);
    try {
      const result = await api.adminAdjustBalance(user.id, parsed, 'Admin page');
      onChange({ ...user, tokenBalance: result.tokenBalance });
      setAmount('');
      showToast(`${user.userName} now has ${numberFormat.format(result.tokenBalance)} tokens`);
    } catch (caught) {
      onError(caught instanceof ApiError && caught.fieldErrors('amount').length ? caught.fieldErrors('amount').join(' ') : describeError(caught));
    } finally {
      setBusy(false);
    }
  }

  async function toggleDisabled() {
    setBusy(true);
    try {
      onChange(await api.adminUpdateUser(user.id, { disabled: !user.disabled }));
      onStats();
    } catch (caught) {
      onError(describeError(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <tr data-testid="admin-user" data-user={user.userName}>
      <td className="px-3 py-2">
        <p className="font-medium text-zinc-900">{user.userName}</p>
        {user.email && <p className="text-xs text-zinc-500">{user.email}</p>}
      </td>
      <td className="px-3 py-2 text-zinc-700">{user.role}</td>
      <td className="px-3 py-2 text-right tabular-nums text-zinc-800" data-testid="admin-user-balance">
        {numberFormat.format(user.tokenBalance)}
      </td>
      <td className="px-3 py-2 text-right tabular-nums text-zinc-700">{numberFormat.format(user.messageCount)}</td>
      <td className="px-3 py-2 whitespace-nowrap text-zinc-700">{user.lastActiveAt ? dateFormat.format(new Date(user.lastActiveAt)) : '—'}</td>
      <td className="px-3 py-2">
        <form
          className="flex items-center gap-1.5"
          onSubmit={(event) => {
            event.preventDefault();
            if (valid) void topUp();
          }}
        >
          <input
            type="number"
            inputMode="numeric"
            step={1}
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            aria-label={`Tokens to add for ${user.userName}`}
            placeholder="+1000"
            data-testid="admin-topup-amount"
            className="h-8 w-24 rounded-md border border-zinc-300 px-2 text-sm tabular-nums outline-none focus:border-zinc-500"
          />
          <button type="submit" className="btn-secondary h-8 px-2.5 text-sm" disabled={!valid || busy} data-testid="admin-topup">
            Add
          </button>
        </form>
      </td>
      <td className="px-3 py-2">
        <button
          type="button"
          className={`h-8 rounded-md px-2.5 text-sm font-medium ${user.disabled ? 'bg-red-50 text-red-700' : 'text-zinc-700 hover:bg-zinc-100'}`}
          onClick={() => void toggleDisabled()}
          disabled={busy}
          data-testid="admin-toggle-disabled"
          aria-pressed={user.disabled}
        >
          {user.disabled ? 'Disabled · enable' : 'Disable'}
        </button>
      </td>
    </tr>
  );
}
