// The keyboard shortcut for Next: the N key, outside text fields and dialogs,
// without modifiers (so typing in the chat never skips anyone).
import { useEffect } from 'react';

export const NEXT_KEY = 'n';

const typing = (el) =>
  el instanceof HTMLElement && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) || el.closest('[role="dialog"]'));

export function useNextShortcut(onNext) {
  useEffect(() => {
    const onKey = (event) => {
      if (event.key.toLowerCase() !== NEXT_KEY || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      if (typing(event.target)) return;
      event.preventDefault();
      onNext();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onNext]);
}
