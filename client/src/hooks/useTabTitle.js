// The tab's title, in the UI's language, counts the partner's unread
// messages, "(2) Zivro · …", and tells the session when the tab is hidden,
// so that messages that arrive while the user looks elsewhere count as
// unread even with the chat open.
import { useEffect } from 'react';

export function useTabTitle(title, unread, onVisibility) {
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${title}` : title;
  }, [title, unread]);

  useEffect(() => {
    const changed = () => onVisibility(document.hidden);
    changed();
    document.addEventListener('visibilitychange', changed);
    return () => document.removeEventListener('visibilitychange', changed);
  }, [onVisibility]);
}
