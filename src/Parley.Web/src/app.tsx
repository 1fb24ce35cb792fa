import { useSyncExternalStore } from 'react';
import { AuthScreen } from './components/auth-screen';
import { SharedPage } from './components/shared-page';
import { Workspace } from './components/workspace';
import { useApi } from './lib/api-context';
import { usePathname } from './lib/router';
import { shareIdFromPath } from './lib/shares';

export function App() {
  const api = useApi();
  const session = useSyncExternalStore(api.session.subscribe, api.session.get);
  // A share link (/s/{id}) is public: it shows without logging in, whether or not there is a session.
  const shareId = shareIdFromPath(usePathname());
  if (shareId) return <SharedPage shareId={shareId} signedIn={session !== null} />;
  return session ? <Workspace /> : <AuthScreen expired={api.session.endedBy === 'expired'} />;
}
