// Gives components the session's state and actions.
import { createContext, useContext, useSyncExternalStore } from 'react';

const SessionContext = createContext(null);

export function SessionProvider({ session, children }) {
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

/** Returns [state, actions]; re-renders on every state change. */
export function useSession() {
  const session = useContext(SessionContext);
  const state = useSyncExternalStore(session.subscribe, session.getSnapshot);
  return [state, session.actions];
}
