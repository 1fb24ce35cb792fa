import { useSyncExternalStore } from 'react';
import { AuthScreen } from './components/auth-screen';
import { Workspace } from './components/workspace';
import { useApi } from './lib/api-context';

export function App() {
  const api = useApi();
  const session = useSyncExternalStore(api.session.subscribe, api.session.get);
  return session ? <Workspace /> : <AuthScreen expired={api.session.endedBy === 'expired'} />;
}
