import { useState, type FormEvent } from 'react';
import { useApi } from '../lib/api-context';
import { ApiError, describeError } from '../lib/errors';
import { ErrorBanner } from './error-banner';
import { TextField } from './text-field';

interface LoginFormProps {
  initialUserName?: string;
  notice?: string | null;
  onShowRegister: () => void;
}

function loginErrorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'Incorrect user name or password.';
    // 429: too many failed logins with this name (or the per-IP limit); the detail says when to retry.
    if (error.status === 429) return error.problem.detail || 'Too many attempts. Try again in a few minutes.';
  }
  return describeError(error);
}

export function LoginForm({ initialUserName = '', notice, onShowRegister }: LoginFormProps) {
  const api = useApi();
  const [userName, setUserName] = useState(initialUserName);
  const [password, setPassword] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const fieldErrors = (field: string) => (error instanceof ApiError ? error.fieldErrors(field) : []);
  const hasFieldErrors = fieldErrors('userName').length > 0 || fieldErrors('password').length > 0;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSubmitting(true);
    setError(null);
    try {
      await api.login(userName.trim(), password);
      // The session store now has tokens: the app switches to the chat.
    } catch (caught) {
      setError(caught);
      setSubmitting(false);
    }
  }

  return (
    <form onSubmit={submit} className="flex flex-col gap-4" aria-labelledby="login-heading" noValidate>
      <div>
        <h1 id="login-heading" className="text-xl font-semibold text-zinc-900">
          Log in
        </h1>
        <p className="mt-1 text-sm text-zinc-500">Welcome back. Log in to continue your conversations.</p>
      </div>
      {notice && (
        <p role="status" className="rounded-xl border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800">
          {notice}
        </p>
      )}
      <TextField
        label="User name"
        name="userName"
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        required
        value={userName}
        onChange={(e) => setUserName(e.target.value)}
        errors={fieldErrors('userName')}
        data-testid="login-username"
        autoFocus={!initialUserName}
      />
      <TextField
        label="Password"
        name="password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        errors={fieldErrors('password')}
        data-testid="login-password"
        autoFocus={!!initialUserName}
      />
      {error != null && !hasFieldErrors && (
        <ErrorBanner message={loginErrorMessage(error)} onDismiss={() => setError(null)} />
      )}
      <button
        type="submit"
        disabled={submitting || !userName.trim() || !password}
        data-testid="login-submit"
        className="btn-primary h-10"
      >
        {submitting ? 'Logging in…' : 'Log in'}
      </button>
      <p className="text-center text-sm text-zinc-500">
        No account yet?{' '}
        <button type="button" onClick={onShowRegister} data-testid="register-link" className="link">
          Create one
        </button>
      </p>
    </form>
  );
}
