// The tab's title counts the partner's unread messages, "(2) Zivro · …", and
// tells the session when the tab is hidden, so that messages that arrive
// while the user looks elsewhere count as unread even with the chat open.
import { useEffect, useRef } from 'react';

export function useTabTitle(unread, onVisibility) {
  const base = useRef(document.title); // index.html's title

  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${base.current}` : base.current;
  }, [unread]);

  useEffect(() => {
    const changed = () => onVisibility(document.hidden);
    changed();
    document.addEventListener('visibilitychange', changed);
    return () => document.removeEventListener('visibilitychange', changed);
  }, [onVisibility]);
}
