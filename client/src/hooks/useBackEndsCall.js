// The browser's Back while searching or in a call ends it inside the app
// (the landing page) instead of leaving the site: entering the queue pushes
// one history entry, and going back to it (popstate) is End call. Next
// (chat → queue → chat) reuses the entry; a call ended by the app leaves
// it in place, where a later Back lands harmlessly on the landing page.
import { useEffect, useRef } from 'react';

const inCall = (phase) => phase === 'queue' || phase === 'chat';

export function useBackEndsCall(phase, endCall) {
  const pushed = useRef(false);
  const live = inCall(phase);

  useEffect(() => {
    if (!live || pushed.current) return;
    window.history.pushState({ zivro: 'call' }, '');
    pushed.current = true;
  }, [live]);

  useEffect(() => {
    if (!live) return undefined;
    const onPop = () => {
      pushed.current = false;
      endCall();
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, [live, endCall]);
}
