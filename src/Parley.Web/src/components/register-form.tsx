import { useRef, useState, type FormEvent } from 'react';
import { flushSync } from 'react-dom';
import { useApi } from '../lib/api-context';
import { ApiError, describeError } from '../lib/errors';
import { USERNAME_HINT, passwordMeetsPolicy, validateEmail, validateUserName } from '../lib/validation';
import { ErrorBanner } from './error-banner';
import { PasswordChecklist } from './password-checklist';
import { TextField } from './text-field';

interface RegisterFormProps {
  onShowLogin: () => void;
}

type Field = 'userName' | 'email' | 'password';

export function RegisterForm({ onShowLogin }: RegisterFormProps) {
  const api = useApi();
  const [values, setValues] = useState<Record<Field, string>>({ userName: '', email: '', password: '' });
  const [touched, setTouched] = useState<Record<Field, boolean>>({ userName: false, email: false, password: false });
  const [serverError, setServerError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);

  const clientErrors: Record<Field, string | null> = {
    userName: validateUserName(values.userName.trim()),
    email: validateEmail(values.email.trim()),
    password: passwordMeetsPolicy(values.password) ? null : 'The password does not meet every requirement yet.',
  };

  // Server field errors stay next to their field until that field is edited.
  const [serverFieldErrors, setServerFieldErrors] = useState<Partial<Record<Field, string[]>>>({});

  function errorsFor(field: Field): string[] {
    const server = serverFieldErrors[field] ?? [];
    if (server.length > 0) return server;
    const client = clientErrors[field];
    return touched[field] && client ? [client] : [];
  }

  function update(field: Field, value: string) {
    setValues((v) => ({ ...v, [field]: value }));
    setServerFieldErrors((e) => ({ ...e, [field]: [] }));
  }

  const formRef = useRef<HTMLFormElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    // Every field shows its errors now; focus goes to the first invalid one.
    flushSync(() => setTouched({ userName: true, email: true, password: true }));
    if (clientErrors.userName || clientErrors.email || clientErrors.password) {
      formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }

    setSubmitting(true);
    setServerError(null);
    setServerFieldErrors({});
    const userName = values.userName.trim();
    const email = values.email.trim();
    try {
      await api.register({ userName, password: values.password, ...(email ? { email } : {}) });
    } catch (caught) {
      if (caught instanceof ApiError) {
        const fields: Partial<Record<Field, string[]>> = {
          userName: caught.fieldErrors('userName'),
          email: caught.fieldErrors('email'),
          password: caught.fieldErrors('password'),
        };
        setServerFieldErrors(fields);
        const shown = Object.values(fields).some((list) => list.length > 0);
        if (!shown) setServerError(caught);
      } else {
        setServerError(caught);
      }
      setSubmitting(false);
      return;
    }
    // Registering signed the new user in (the response carries the tokens): the app switches to the chat.
  }

  return (
    <form ref={formRef} onSubmit={submit} className="flex flex-col gap-4" aria-labelledby="register-heading" noValidate>
      <div>
        <h1 id="register-heading" className="text-xl font-semibold text-zinc-900">
          Create your account
        </h1>
        <p className="mt-1 text-sm text-zinc-500">Start chatting in a few seconds.</p>
      </div>
      <TextField
        label="User name"
        name="userName"
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        required
        autoFocus
        value={values.userName}
        onChange={(e) => update('userName', e.target.value)}
        onBlur={() => setTouched((t) => ({ ...t, userName: true }))}
        hint={USERNAME_HINT}
        errors={errorsFor('userName')}
        data-testid="register-username"
      />
      <TextField
        label="Email (optional)"
        name="email"
        type="email"
        autoComplete="email"
        value={values.email}
        onChange={(e) => update('email', e.target.value)}
        onBlur={() => setTouched((t) => ({ ...t, email: true }))}
        errors={errorsFor('email')}
        data-testid="register-email"
      />
      <TextField
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        required
        value={values.password}
        onChange={(e) => update('password', e.target.value)}
        errors={errorsFor('password')}
        data-testid="register-password"
      >
        <PasswordChecklist password={values.password} />
      </TextField>
      {serverError != null && <ErrorBanner message={describeError(serverError)} onDismiss={() => setServerError(null)} />}
      <button type="submit" disabled={submitting} data-testid="register-submit" className="btn-primary h-10">
        {submitting ? 'Creating account…' : 'Create account'}
      </button>
      <p className="text-center text-sm text-zinc-500">
        Already have an account?{' '}
        <button type="button" onClick={onShowLogin} data-testid="login-link" className="link">
          Log in
        </button>
      </p>
    </form>
  );
}
