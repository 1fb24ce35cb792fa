import { useState } from 'react';
import { LogoIcon } from './icons';
import { LoginForm } from './login-form';
import { RegisterForm } from './register-form';

type Mode = { kind: 'login'; userName?: string; notice?: string } | { kind: 'register' };

/** Login or registration; `expired` says the previous session ended by itself (not by logging out). */
export function AuthScreen({ expired = false }: { expired?: boolean }) {
  const [mode, setMode] = useState<Mode>(
    expired ? { kind: 'login', notice: 'Your session has expired. Log in again to continue.' } : { kind: 'login' },
  );
  return (
    <main className="flex min-h-dvh flex-col items-center justify-center bg-zinc-50 px-4 py-10">
      <div className="mb-6 flex items-center gap-2 text-zinc-900">
        <LogoIcon />
        <span className="text-lg font-semibold tracking-tight">Parley</span>
      </div>
      <div className="w-full max-w-sm rounded-2xl border border-zinc-200 bg-white p-6 shadow-sm sm:p-8">
        {mode.kind === 'login' ? (
          <LoginForm
            key={mode.userName ?? ''}
            initialUserName={mode.userName}
            notice={mode.notice}
            onShowRegister={() => setMode({ kind: 'register' })}
          />
        ) : (
          <RegisterForm onShowLogin={() => setMode({ kind: 'login' })} />
        )}
      </div>
    </main>
  );
}
