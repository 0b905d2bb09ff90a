// The text chat during a call: a column beside the video on laptops, the
// lower part of the screen under the video and the controls on phones; never
// over either.
// It stays mounted while closed (hidden), so the draft and the history are kept.
// In a text-only call it is the whole call (main: no close button, full size).
import { Send, X } from 'lucide-react';
import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { CHAT_MAX } from '../state/flow.js';

export default function ChatPanel({ open, partnerName, messages, onSend, onClose, main = false }) {
  const { t } = useTranslation();
  const [draft, setDraft] = useState('');
  const listRef = useRef(null);
  const inputRef = useRef(null);
  const titleId = useId();

  useEffect(() => {
    if (open) inputRef.current.focus();
  }, [open]);

  useEffect(() => {
    const list = listRef.current;
    if (open) list.scrollTop = list.scrollHeight;
  }, [open, messages.length]);

  // Closing hides the panel and what had focus in it: give focus back to the
  // chat toggle (the control of this panel), not to <body>.
  const close = () => {
    onClose();
    document.querySelector('[aria-controls="chat-panel"]')?.focus();
  };

  const submit = (event) => {
    event.preventDefault();
    if (onSend(draft)) setDraft('');
  };

  return (
    <aside
      id="chat-panel"
      data-testid="chat-panel"
      hidden={!open}
      aria-labelledby={titleId}
      onKeyDown={(event) => !main && event.key === 'Escape' && close()}
      className={`flex min-h-0 flex-col bg-white text-slate-900 [&[hidden]]:hidden dark:bg-slate-900 dark:text-slate-100 ${
        main
          ? 'mx-auto w-full max-w-3xl flex-1'
          : 'h-[45%] shrink-0 border-t border-slate-200 md:h-auto md:w-96 md:border-l md:border-t-0 dark:border-slate-800'
      }`}
    >
      <div className="flex items-center justify-between border-b border-slate-200 px-5 py-3 dark:border-slate-800">
        <h2 id={titleId} className="font-semibold">
          {t('chat.title', { name: partnerName })}
        </h2>
        {!main && (
          <button
            type="button"
            onClick={close}
            aria-label={t('chat.close')}
            className="inline-flex h-11 w-11 items-center justify-center rounded-full text-slate-500 hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-brand-500 dark:hover:bg-slate-800"
          >
            <X className="h-5 w-5" aria-hidden="true" />
          </button>
        )}
      </div>

      <ol ref={listRef} aria-live="polite" className="flex-1 space-y-2 overflow-y-auto px-4 py-4">
        {messages.length === 0 && (
          <li className="py-8 text-center text-sm text-slate-600 dark:text-slate-400">{t('chat.empty', { name: partnerName })}</li>
        )}
        {messages.map((m) => (
          <li key={m.id} className={`flex ${m.from === 'me' ? 'justify-end' : 'justify-start'}`}>
            <p
              data-testid="chat-message"
              data-from={m.from}
              className={`max-w-[80%] whitespace-pre-wrap break-words rounded-2xl px-3.5 py-2 text-sm ${
                m.from === 'me'
                  ? 'rounded-br-md bg-brand-600 text-white'
                  : 'rounded-bl-md bg-slate-100 text-slate-900 dark:bg-slate-800 dark:text-slate-100'
              }`}
            >{m.text}</p>
          </li>
        ))}
      </ol>

      <form onSubmit={submit} className="border-t border-slate-200 p-3 dark:border-slate-800">
        <div className="flex items-center gap-2">
          <input
            ref={inputRef}
            data-testid="chat-input"
            aria-label={t('chat.message')}
            className="field py-2.5"
            placeholder={t('chat.placeholder')}
            value={draft}
            maxLength={CHAT_MAX}
            onChange={(event) => setDraft(event.target.value)}
            autoComplete="off"
          />
          <button
            type="submit"
            data-testid="chat-send"
            aria-label={t('chat.send')}
            disabled={!draft.trim()}
            className="inline-flex h-11 w-11 shrink-0 items-center justify-center rounded-xl bg-brand-600 text-white transition hover:bg-brand-500 focus-visible:outline-none focus-visible:ring-4 focus-visible:ring-brand-500/40 disabled:opacity-40"
          >
            <Send className="h-4 w-4" aria-hidden="true" />
          </button>
        </div>
        <p className={`mt-1 text-right text-xs ${draft.length >= CHAT_MAX ? 'text-rose-700 dark:text-rose-400' : 'text-slate-600 dark:text-slate-400'}`} aria-live="polite">
          {draft.length}/{CHAT_MAX}
        </p>
      </form>
    </aside>
  );
}
