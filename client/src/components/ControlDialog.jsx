// A call control that opens a small dialog next to it. The button toggles the
// dialog; opening moves focus to the dialog's first element matching focus,
// closing (the button, the dialog's X, Escape) moves it back to the button,
// so that a keyboard user never loses their place.
//
// The dialog is placed in the viewport, not in the button's box: fixed, below
// or above the button (where there is more room), aligned to its right edge
// and kept MARGIN_PX inside the screen, scrolling when taller than the room
// left. Placed in the button's box it ran off a phone's right edge, was cut
// off by the call view, and focusing it scrolled the whole view sideways.
import { X } from 'lucide-react';
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'react';

const MARGIN_PX = 8;
const GAP_PX = 8;
const WIDTH_PX = 288; // the class below: w-[min(18rem,calc(100vw-1rem))]

/** Where the dialog goes for an opener at rect in a viewport of width × height. */
export function placeDialog(rect, width, height) {
  const below = height - rect.bottom;
  const shown = Math.min(WIDTH_PX, width - 2 * MARGIN_PX);
  const right = Math.min(Math.max(MARGIN_PX, width - rect.right), width - shown - MARGIN_PX);
  if (below >= rect.top) {
    return { top: rect.bottom + GAP_PX, right, maxHeight: below - GAP_PX - MARGIN_PX };
  }
  return { bottom: height - rect.top + GAP_PX, right, maxHeight: rect.top - GAP_PX - MARGIN_PX };
}

export default function ControlDialog({ icon: Icon, label, testId, title, closeLabel, focus, onOpen, className = '', children }) {
  const [open, setOpen] = useState(false);
  const [place, setPlace] = useState(null);
  const titleId = useId();
  const opener = useRef(null);
  const dialog = useRef(null);

  useLayoutEffect(() => {
    if (!open) return undefined;
    const measure = () =>
      setPlace(placeDialog(opener.current.getBoundingClientRect(), window.innerWidth, window.innerHeight));
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, [open]);

  useEffect(() => {
    if (open && place) dialog.current?.querySelector(focus)?.focus({ preventScroll: true });
  }, [open, place, focus]);

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
      {open && place && (
        <div
          ref={dialog}
          style={place}
          role="dialog"
          aria-labelledby={titleId}
          data-testid={`${testId}-dialog`}
          onKeyDown={(event) => event.key === 'Escape' && close()}
          className={`fixed z-40 w-[min(18rem,calc(100vw-1rem))] animate-fade-in overflow-y-auto overscroll-contain rounded-2xl border border-slate-200 bg-white text-slate-900 shadow-2xl dark:border-slate-800 dark:bg-slate-900 dark:text-slate-100 ${className}`}
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
