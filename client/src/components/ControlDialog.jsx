// A call control that opens a small dialog above it. The button toggles the
// dialog; opening moves focus to the dialog's first element matching focus,
// closing (the button, the dialog's X, Escape) moves it back to the button,
// so that a keyboard user never loses their place.
import { X } from 'lucide-react';
import { useEffect, useId, useRef, useState } from 'react';

export default function ControlDialog({ icon: Icon, label, testId, title, closeLabel, focus, onOpen, className = '', children }) {
  const [open, setOpen] = useState(false);
  const titleId = useId();
  const opener = useRef(null);
  const dialog = useRef(null);

  useEffect(() => {
    if (open) dialog.current?.querySelector(focus)?.focus();
  }, [open, focus]);

  const close = () => {
    setOpen(false);
    opener.current?.focus();
  };

  return (
    <div className="relative">
      <button
        ref={opener}
        type="button"
        data-testid={`${testId}-button`}
        aria-label={label}
        aria-haspopup="dialog"
        aria-expanded={open}
        className="icon-btn bg-white/15 text-white backdrop-blur hover:bg-white/25"
        onClick={() => {
          if (open) return close();
          onOpen?.();
          setOpen(true);
        }}
      >
        <Icon className="h-5 w-5" aria-hidden="true" />
      </button>
      {open && (
        <div
          ref={dialog}
          role="dialog"
          aria-labelledby={titleId}
          data-testid={`${testId}-dialog`}
          onKeyDown={(event) => event.key === 'Escape' && close()}
          className={`absolute bottom-14 left-1/2 z-30 w-72 -translate-x-1/2 animate-fade-in rounded-2xl border border-slate-200 bg-white text-slate-900 shadow-2xl dark:border-slate-800 dark:bg-slate-900 dark:text-slate-100 ${className}`}
        >
          <div className="flex items-center justify-between">
            <h2 id={titleId} className="text-sm font-bold">
              {title}
            </h2>
            <button
              type="button"
              data-testid={`${testId}-cancel`}
              aria-label={closeLabel}
              className="rounded-full p-1 hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-brand-400 dark:hover:bg-slate-800"
              onClick={close}
            >
              <X className="h-4 w-4" aria-hidden="true" />
            </button>
          </div>
          {/* close reads the opener's ref only when called, from an event
              handler: the rule cannot see that through children. */}
          {/* eslint-disable-next-line react-hooks/refs */}
          {children(close)}
        </div>
      )}
    </div>
  );
}
