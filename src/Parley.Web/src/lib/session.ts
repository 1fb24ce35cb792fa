import type { TokenPair } from './types';

/** The tokens of the signed-in user, kept in localStorage so a reload keeps the session. */
export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds after which the access token is expired. */
  expiresAt: number;
}

type Listener = () => void;

const STORAGE_KEY = 'parley.session';

function parse(raw: string | null): Session | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<Session>;
    if (typeof value.accessToken === 'string' && typeof value.refreshToken === 'string') {
      return {
        accessToken: value.accessToken,
        refreshToken: value.refreshToken,
        expiresAt: typeof value.expiresAt === 'number' ? value.expiresAt : 0,
      };
    }
  } catch {
    // Corrupt storage means no session.
  }
  return null;
}

/** A tiny external store (for useSyncExternalStore) over the persisted session. */
export class SessionStore {
  private current: Session | null;
  /** Why the last session ended in this tab: the login screen says "session expired" for `expired`. */
  endedBy: 'logout' | 'expired' | null = null;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly storage: Storage | undefined = globalThis.localStorage,
    private readonly now: () => number = Date.now,
  ) {
    this.current = parse(this.read());
    // Another tab logging in or out changes this tab's session too.
    globalThis.addEventListener?.('storage', (event: StorageEvent) => {
      if (event.key !== STORAGE_KEY && event.key !== null) return;
      this.current = parse(this.read());
      this.emit();
    });
  }

  get = (): Session | null => this.current;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set(pair: TokenPair): Session {
    const session: Session = {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      expiresAt: this.now() + pair.expiresIn * 1000,
    };
    this.current = session;
    this.endedBy = null;
    this.write(JSON.stringify(session));
    this.emit();
    return session;
  }

  clear(reason: 'logout' | 'expired' = 'logout'): void {
    if (this.current === null) return;
    this.endedBy = reason;
    this.current = null;
    this.write(null);
    this.emit();
  }

  private read(): string | null {
    try {
      return this.storage?.getItem(STORAGE_KEY) ?? null;
    } catch {
      return null;
    }
  }

  private write(value: string | null): void {
    try {
      if (value === null) this.storage?.removeItem(STORAGE_KEY);
      else this.storage?.setItem(STORAGE_KEY, value);
    } catch {
      // Private mode or a full quota: the session then lasts as long as the page.
    }
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}
