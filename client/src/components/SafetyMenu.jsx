// Report or block the partner: one button in the call controls opens a small
// dialog where one more press (a reason, or Block) confirms. Keyboard: Tab
// reaches the button, Enter opens, focus moves into the dialog, Escape closes.
import { Ban, Flag, X } from 'lucide-react';
import { useEffect, useId, useRef, useState } from 'react';
import { REPORT_REASONS } from '../state/safety.js';

const item =
  'flex w-full items-center rounded-xl px-3 py-2 text-left text-sm hover:bg-slate-100 focus-visible:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-brand-400 dark:hover:bg-slate-800 dark:focus-visible:bg-slate-800';

export default function SafetyMenu({ partnerName, onReport, onBlock }) {
  const [open, setOpen] = useState(false);
  const titleId = useId();
  const dialog = useRef(null);
  const opener = useRef(null);

  useEffect(() => {
    if (open) dialog.current?.querySelector('button')?.focus();
  }, [open]);

  const close = () => {
    setOpen(false);
    opener.current?.focus();
  };
  const choose = (action) => () => {
    setOpen(false);
    action();
  };

  return (
    <div className="relative">
      <button
        ref={opener}
        type="button"
        data-testid="safety-button"
        aria-label="Report or block"
        aria-haspopup="dialog"
        aria-expanded={open}
        className="icon-btn bg-white/15 text-white backdrop-blur hover:bg-white/25"
        onClick={() => (open ? close() : setOpen(true))}
      >
        <Flag className="h-5 w-5" aria-hidden="true" />
      </button>
      {open && (
        <div
          ref={dialog}
          role="dialog"
          aria-labelledby={titleId}
          data-testid="safety-dialog"
          onKeyDown={(event) => event.key === 'Escape' && close()}
          className="absolute bottom-14 left-1/2 z-30 w-72 -translate-x-1/2 animate-fade-in rounded-2xl border border-slate-200 bg-white p-3 text-slate-900 shadow-2xl dark:border-slate-800 dark:bg-slate-900 dark:text-slate-100"
        >
          <div className="mb-1 flex items-center justify-between px-1">
            <h2 id={titleId} className="text-sm font-bold">
              Report or block {partnerName}
            </h2>
            <button
              type="button"
              data-testid="safety-cancel"
              aria-label="Cancel"
              className="rounded-full p-1 hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-brand-400 dark:hover:bg-slate-800"
              onClick={close}
            >
              <X className="h-4 w-4" aria-hidden="true" />
            </button>
          </div>
          <ul>
            {REPORT_REASONS.map((r) => (
              <li key={r.value}>
                <button type="button" data-testid={`report-${r.value}`} className={item} onClick={choose(() => onReport(r.value))}>
                  {r.label}
                </button>
              </li>
            ))}
          </ul>
          <div className="mt-2 border-t border-slate-200 pt-2 dark:border-slate-800">
            <button
              type="button"
              data-testid="block-button"
              className={`${item} gap-2 font-semibold text-rose-600 dark:text-rose-400`}
              onClick={choose(onBlock)}
            >
              <Ban className="h-4 w-4" aria-hidden="true" />
              Block {partnerName}: never meet again
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
